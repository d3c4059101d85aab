"""Section 2: what a body may hold (signed or not): malformed, nested, oversized, compressed,
odd Unicode, blank texts; and routes that do not exist."""

from __future__ import annotations

import asyncio
import json
import zlib
from urllib.parse import urlencode

from channels.abuse import signing
from channels.abuse.client import Reply, raw, raw_post
from channels.abuse.fakes import HOST
from channels.abuse.lab import Lab, Target, settle
from channels.abuse.probes.common import (
    ARRIVAL_WAIT,
    Rows,
    client_error,
    send,
)
from channels.abuse.report import FAIL, Row
from channels.abuse.signing import JSON, message_body, signed


def _nested_array(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


def _nested_in_field(platform: str, number: int, person: int, levels: int) -> bytes:
    """A signed-looking message whose text field is an object nested ``levels`` deep."""
    placeholder = "NESTED-PLACEHOLDER"
    body = message_body(platform, number, person, placeholder).decode()
    if platform == "twilio":
        return body.encode()
    nested = '{"a":' * levels + "1" + "}" * levels
    return body.replace(json.dumps(placeholder), nested).encode()


async def signed_malformed(lab: Lab) -> list[Row]:
    rows, t = Rows("2.1"), await lab.target("main")
    marker = lab.marker("malformed")
    shapes = [("invalid JSON", b'{"object": "whatsapp_busin'), ("not UTF-8", b'\xff\xfe{"a": 1}'),
              ("a JSON array", b"[1, 2, 3]"), ("a JSON string", b'"just a string"'),
              ("an object with other keys", json.dumps({"other": "keys", "text": marker}).encode()),
              ("an empty body", b"")]
    for platform in ("whatsapp", "messenger", "telegram", "viber"):
        for label, body in shapes:
            reply = await send(lab, t, f"/webhooks/{platform}", body, signed(platform, body))
            rows.add(f"{platform}: {label}, validly signed", f"{len(body)} bytes", reply, reply.excerpt(),
                     client_error(reply), "a 4xx, nothing processed")
    many = [("AccountSid", signing.TWILIO_ACCOUNT)] + [(f"F{i}", "x") for i in range(300)]
    for label, fields in (("301 form fields", many),
                          ("a form without MessageSid", [("AccountSid", signing.TWILIO_ACCOUNT), ("Foo", marker)])):
        body = urlencode(fields).encode()
        reply = await send(lab, t, "/webhooks/twilio", body, signed("twilio", body))
        rows.add(f"twilio: {label}, validly signed", f"{len(fields)} fields", reply, reply.excerpt(),
                 client_error(reply))
    lab.refused.add(marker)
    return rows.rows


async def deep_nesting_signed(lab: Lab) -> list[Row]:
    rows, t = Rows("2.2"), await lab.target("main")
    for platform in ("whatsapp", "messenger", "telegram", "viber"):
        for label, body in (("50,000-level array", _nested_array(50_000)),
                            ("object 20,000 levels deep in the text field",
                             _nested_in_field(platform, lab.number(), lab.person(), 20_000))):
            reply = await send(lab, t, f"/webhooks/{platform}", body, signed(platform, body))
            rows.add(f"{platform}: {label}, validly signed", f"{len(body):,} bytes", reply, reply.excerpt(),
                     client_error(reply), "a 4xx, never a 5xx")
    return rows.rows


async def deep_nesting_webchat(lab: Lab) -> list[Row]:
    rows, t = Rows("2.3"), await lab.target("main")
    chat = lab.webchat(t)
    session, _ = await chat.session()
    nested = '{"a":' * 2000 + "1" + "}" * 2000
    bodies = [("16 KB of '['", _nested_array(8000)),
              ("an object 2,000 levels deep in the text field",
               f'{{"session": {json.dumps(session)}, "id": "n1", "after": 0, "text": {nested}}}'.encode())]
    for label, body in bodies:
        reply = await chat.post_raw(body)
        rows.add(f"webchat: {label}", f"{len(body):,} bytes", reply, reply.excerpt(), client_error(reply),
                 "no credential needed")
    return rows.rows


async def over_the_cap(lab: Lab) -> list[Row]:
    rows, t = Rows("2.4"), await lab.target("main")
    body = b'{"x": "' + b"a" * 300_000 + b'"}'
    for path, kind in (("/webhooks/whatsapp", JSON), ("/webhooks/telegram", JSON),
                       ("/webhooks/twilio", signing.FORM), ("/chat/api/messages", JSON)):
        reply = await raw(HOST, t.port, raw_post(HOST, t.port, path, body, [(b"Content-Type", kind.encode())]))
        rows.add(f"{path}: 300 KB with Content-Length", f"{len(body):,} bytes", reply, reply.excerpt(),
                 reply.status == 413)
    chunked = raw_post(HOST, t.port, "/webhooks/telegram", b"a" * 400_000, [(b"Content-Type", b"application/json")],
                       chunked=True)
    reply = await raw(HOST, t.port, chunked)
    rows.add("/webhooks/telegram: 400 KB chunked (no Content-Length)", "400,000 bytes", reply, reply.excerpt(),
             reply.status == 413)
    return rows.rows


def gzip_bomb(megabytes: int) -> bytes:
    """``megabytes`` MB of zeros, gzip-compressed (about a thousandth of the size)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(1024 * 1024)
    return b"".join(packer.compress(block) for _ in range(megabytes)) + packer.flush()


async def gzip_bombs(lab: Lab) -> list[Row]:
    rows, t = Rows("2.5"), await lab.target("main")
    process = t.site.current
    # a connection of their own: a server that refuses mid-body leaves the connection unusable
    headers = {"Content-Type": JSON, "Content-Encoding": "gzip", "Connection": "close"}
    small = gzip_bomb(50)
    for path in ("/webhooks/telegram", "/chat/api/messages"):
        before = process.memory_kb()
        reply = await lab.http.post(t.url + path, data=small, headers=headers)
        after = process.memory_kb()
        grown = (after[1] - before[1]) / 1024
        rows.add(f"{path}: gzip bomb, 50 MB inflated", f"{len(small):,} bytes compressed", reply,
                 f"peak RSS {before[1] // 1024} -> {after[1] // 1024} MB (+{grown:.0f})",
                 reply.status in (413, 415) and grown < 32, "refused (415) or cut at the cap, memory flat")
    big = gzip_bomb(lab.profile.bomb_mb)
    before = process.memory_kb()
    replies = await asyncio.gather(*(lab.http.post(t.url + "/chat/api/messages", data=big, headers=headers)
                                     for _ in range(4)))
    after = process.memory_kb()
    grown = (after[1] - before[1]) / 1024
    statuses = [r.status for r in replies]
    rows.add(f"/chat/api/messages: 4 gzip bombs at once, {lab.profile.bomb_mb} MB each", f"4 × {len(big):,} bytes",
             "/".join(map(str, statuses)),
             f"peak RSS {before[1] // 1024} -> {after[1] // 1024} MB (+{grown:.0f}), now {after[0] // 1024} MB",
             all(s in (413, 415) for s in statuses) and grown < 64, "no credential needed")
    return rows.rows


UNICODE = [("right-to-left override", "\u202eevil.exe\u202c"), ("zero-width characters", "\u200b\u200c\u200d\ufeff"),
           ("emoji ZWJ sequence", "😀👨\u200d👩\u200d👧"), ("astral characters", "𠀀𝐀"), ("NUL", "\x00"),
           ("combining marks", "e\u0301\u0301\u0301\u0301")]


async def unicode_intact(lab: Lab) -> list[Row]:
    rows, t = Rows("2.6"), await lab.target("main")
    sent = []
    for label, payload in UNICODE:
        text = f"{lab.marker('unicode')} {payload} end"
        hook = signing.webhook("whatsapp", lab.number(), lab.person(), text)
        sent.append((label, text, await send(lab, t, hook.path, hook.body, hook.headers)))
    await t.rasa.wait_for([text for _, text, _ in sent], ARRIVAL_WAIT)
    await settle(0.5)
    for label, text, reply in sent:
        lab.accepted.add(text.split()[0])
        exact = sum(call.text == text for call in t.rasa.calls)
        rows.add(f"whatsapp: {label}", ascii(text)[:40], reply, f"reached Rasa intact {exact}x",
                 reply.status == 200 and exact == 1, "delivered unchanged, once")
    return rows.rows


async def _surrogate_row(rows: Rows, lab: Lab, t: Target, label: str, reply: Reply, marker: str) -> None:
    """A lone surrogate: refused (4xx) and never processed, or accepted with a valid replacement."""
    if client_error(reply):
        lab.refused.add(marker)
        rows.add(label, "\\ud800 escaped in JSON", reply, reply.excerpt(), True)
        return
    arrived = await t.rasa.wait_for([marker], 3.0) if reply.status == 200 else False
    rows.add(label, "\\ud800 escaped in JSON", reply, reply.excerpt() if not arrived else "accepted, text replaced",
             reply.status == 200 and arrived, "a 4xx (or 200 with the character replaced), never a 5xx")


async def lone_surrogates_signed(lab: Lab) -> list[Row]:
    rows, t = Rows("2.7"), await lab.target("main")
    for platform in ("whatsapp", "messenger", "telegram", "viber"):
        marker = lab.marker(f"surrogate-{platform}")
        body = message_body(platform, lab.number(), lab.person(), f"{marker} \ud800 end")
        reply = await send(lab, t, f"/webhooks/{platform}", body, signed(platform, body))
        await _surrogate_row(rows, lab, t, f"{platform}: lone surrogate in the text, validly signed", reply, marker)
    marker = lab.marker("surrogate-from")
    body = signing.encode(signing.whatsapp_body(f"wamid.S{lab.number()}", "1555\ud800", marker))
    reply = await send(lab, t, "/webhooks/whatsapp", body, signed("whatsapp", body))
    await _surrogate_row(rows, lab, t, "whatsapp: lone surrogate in 'from', validly signed", reply, marker)
    return rows.rows


async def lone_surrogate_webchat(lab: Lab) -> list[Row]:
    rows, t = Rows("2.8"), await lab.target("main")
    chat = lab.webchat(t)
    session, _ = await chat.session()
    marker = lab.marker("surrogate-webchat")
    reply = await chat.post_raw(json.dumps({"session": session, "id": "s1", "after": 0,
                                            "text": f"{marker} \ud800 end"}).encode())
    await _surrogate_row(rows, lab, t, "webchat: lone surrogate in the text (no credential needed)", reply, marker)
    return rows.rows


async def _blank_texts(lab: Lab, probe_id: str, platform: str) -> list[Row]:
    """Blank texts from one person, then a marked message from the same person: whatever Rasa got
    from that sender before the marker came from the blank ones (one conversation is in order)."""
    rows, t = Rows(probe_id), await lab.target("main")
    for label, text in (("empty text", ""), ("whitespace-only text", "  \n\t ")):
        person = lab.person()
        hook = signing.webhook(platform, lab.number(), person, text)
        reply = await send(lab, t, hook.path, hook.body, hook.headers)
        marker = lab.marker(f"after-blank-{platform}")
        follow = signing.webhook(platform, lab.number(), person, marker)
        await send(lab, t, follow.path, follow.body, follow.headers)
        lab.accepted.add(marker)
        arrived = await t.rasa.wait_for([marker], ARRIVAL_WAIT)
        sender = next((c.who for c in t.rasa.calls if marker in c.text), None)
        blank = sum(c.who == sender and not c.text.strip() for c in t.rasa.calls) if sender else 0
        rows.add(f"{platform}: {label}", repr(text), reply, f"blank texts forwarded to Rasa: {blank}",
                 reply.status == 200 and arrived and blank == 0, "answered 200 and ignored with a reason",
                 failing=FAIL)
    return rows.rows


async def blank_whatsapp(lab: Lab) -> list[Row]:
    return await _blank_texts(lab, "2.9", "whatsapp")


async def blank_telegram(lab: Lab) -> list[Row]:
    return await _blank_texts(lab, "2.10", "telegram")


async def webchat_bad_requests(lab: Lab) -> list[Row]:
    rows, t = Rows("2.11"), await lab.target("main")
    chat = lab.webchat(t)
    session, _ = await chat.session()
    marker = lab.marker("webchat-bad")

    def body(**fields: object) -> bytes:
        return json.dumps({"session": session, "id": "b1", "after": 0, **fields}).encode()

    cases = [("invalid JSON", b'{"session": ', JSON), ("a JSON array", b"[]", JSON),
             ("text/plain Content-Type", body(text=marker), "text/plain"),
             ("no session", json.dumps({"id": "b1", "text": marker}).encode(), JSON),
             ("8-character session", body(session="abcd1234", text=marker), JSON),
             ("session with odd characters", body(session="<script>aaaaaaaaaa", text=marker), JSON),
             ("empty text", body(text=""), JSON), ("whitespace text", body(text="  \n "), JSON),
             ("2,001-character text", body(text=marker + "x" * 2001), JSON),
             ("text and payload together", body(text=marker, payload="/affirm", title="Yes"), JSON),
             ("after = -1", body(text=marker, after=-1), JSON), ("text is a number", body(text=12345), JSON)]
    for label, payload, kind in cases:
        reply = await chat.post_raw(payload, kind)
        rows.add(f"webchat: {label}", f"{len(payload)} bytes", reply, reply.excerpt(), client_error(reply),
                 "a 4xx that says what is wrong")
    lab.refused.add(marker)
    return rows.rows


async def webchat_large_text(lab: Lab) -> list[Row]:
    rows, t = Rows("2.12"), await lab.target("main")
    chat = lab.webchat(t)
    session, _ = await chat.session()
    reply = await chat.post_raw(json.dumps({"session": session, "id": "big", "text": "x" * 100_000}).encode())
    rows.add("webchat: 100 KB text", "100,000 characters", reply, reply.excerpt(), reply.status == 413)
    return rows.rows


async def unknown_routes(lab: Lab) -> list[Row]:
    rows, t = Rows("2.13"), await lab.target("main")
    reply = await lab.http.post(t.url + "/webhooks/slack", data=b"{}", headers={"Content-Type": JSON})
    rows.add("POST /webhooks/slack (no such channel)", "{}", reply, reply.excerpt(), reply.status == 404)
    reply = await lab.http.request("PUT", t.url + "/webhooks/whatsapp", data=b"{}", headers={"Content-Type": JSON})
    rows.add("PUT /webhooks/whatsapp", "{}", reply, reply.excerpt(), reply.status == 405)
    return rows.rows
