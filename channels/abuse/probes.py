"""The probes: one function per class of abuse (one line of the summary table), each a table of
requests and what must come of them once issue 12 is done.

A probe returns rows. Its verdict is ``pass`` when the gateway did what a hardened gateway must
(refuse a forgery, never answer 5xx, throttle a flood, keep identifiers out of the logs), ``FAIL``
for a finding that harms the service or a person, ``risk`` for a weakness the security report
ranked low or a behaviour kept by design (every operator sees every case). Everything goes to
the ``main`` deployment unless a probe needs the default limits (``limits``) or no public URL
(``nopublic``); see channels.abuse.lab.

Messages carry unique markers: a refused one must never reach the fake Rasa, an accepted one
exactly once (``Lab.refused`` / ``Lab.accepted``, checked by the last probe).
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import secrets
import statistics
import time
import zlib
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from channels.abuse import signing
from channels.abuse.client import LOGIN_PATH, Console, Reply, hidden_fields, raw, raw_post
from channels.abuse.fakes import HOST
from channels.abuse.gateway import OPERATOR_PASSWORDS
from channels.abuse.lab import Lab, Target, settle
from channels.abuse.report import FAIL, PASS, RISK, Row
from channels.abuse.signing import JSON, PUBLIC_URL, message_body, signed

SECTIONS = {"1": "1 auth", "2": "2 input", "3": "3 webchat", "4": "4 console", "5": "5 privacy", "S": "1/2 summary"}
REJECTED = (401, 403)
XSS = ("<img src=x onerror=alert(1)>", "<script>alert(document.cookie)</script>")
CONSOLE_HEADERS = {"Content-Security-Policy": "default-src 'none'", "X-Frame-Options": "DENY",
                   "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
                   "Cache-Control": "no-store", "Cross-Origin-Opener-Policy": "same-origin"}
COOKIE = "rights_console"  # the console's session cookie
VALID = "<the page's own token>"
ARRIVAL_WAIT = 10.0  # how long an accepted message may take to reach the fake Rasa here


class Rows:
    """The rows one probe class produces."""

    def __init__(self, probe_id: str) -> None:
        self.probe_id = probe_id
        self.section = SECTIONS[probe_id.split(".")[0]]
        self.rows: list[Row] = []

    def add(self, probe: str, sent: str, status: Reply | str | int, measurement: str, ok: bool | str,
            note: str = "", failing: str = FAIL) -> None:
        verdict = ok if isinstance(ok, str) else (PASS if ok else failing)
        self.rows.append(Row(self.section, probe, sent, shown_status(status), measurement, verdict, note,
                             self.probe_id))


def shown_status(status: Reply | str | int) -> str:
    if isinstance(status, Reply):
        return str(status.status) if status.status else status.error
    return str(status)


def client_error(reply: Reply) -> bool:
    """A 4xx other than a rate limit: the request was understood and refused."""
    return 400 <= reply.status < 500 and reply.status != 429


async def send(lab: Lab, target: Target, path: str, body: bytes, headers: Mapping[str, str],
               method: str = "POST") -> Reply:
    return await lab.http.request(method, target.url + path, data=body, headers=headers)


async def reached_once(lab: Lab, target: Target, markers: Iterable[str]) -> dict[str, int]:
    """How often each marker reached Rasa, once each has arrived (or ARRIVAL_WAIT ran out)."""
    markers = list(markers)
    await target.rasa.wait_for(markers, ARRIVAL_WAIT)
    await settle(0.5)  # a second copy would follow the first closely
    return {m: target.rasa.count(m) for m in markers}


def refused_rows(rows: Rows, lab: Lab, target: Target, cases: list[tuple[str, str, Reply]], marker: str,
                 allowed: tuple[int, ...] = REJECTED, note: str = "") -> None:
    """One row per refused request; the marker it carried must never reach Rasa."""
    lab.refused.add(marker)
    for label, sent, reply in cases:
        rows.add(label, sent, reply, reply.excerpt(), reply.status in allowed, note)


# 1 auth: signatures, secrets, replays, handshakes


async def meta_forgeries(lab: Lab) -> list[Row]:
    rows, t = Rows("1.1"), await lab.target("main")
    for platform, secret in (("whatsapp", signing.WHATSAPP_APP_SECRET), ("messenger", signing.MESSENGER_APP_SECRET)):
        marker = lab.marker(f"forged-{platform}")
        body = message_body(platform, lab.number(), lab.person(), marker)
        other = message_body(platform, lab.number(), lab.person(), marker + "-other")
        good = signing.meta_signature(body, secret)
        digit = "0" if good[-1] != "0" else "1"
        forgeries = [("no X-Hub-Signature-256", None, body),
                     ("signed with another key", signing.meta_signature(body, "another-key"), body),
                     ("signature cut to 56 hex digits", good[:-8], body),
                     ("'sha256=' with no digest", "sha256=", body),
                     ("sha1= scheme with the sha256 digest", "sha1=" + good[7:], body),
                     ("one hex digit changed", good[:-1] + digit, body),
                     ("valid signature of another body", signing.meta_signature(other, secret), body),
                     ("signed body plus one byte", good, body + b" ")]
        cases = []
        for label, signature, payload in forgeries:
            headers = {"Content-Type": JSON, **({"X-Hub-Signature-256": signature} if signature is not None else {})}
            cases.append((f"{platform}: {label}", str(signature)[:24], await send(lab, t, f"/webhooks/{platform}",
                                                                                payload, headers)))
        refused_rows(rows, lab, t, cases, marker)
    return rows.rows


async def meta_case_changed(lab: Lab) -> list[Row]:
    rows, t = Rows("1.2"), await lab.target("main")
    for platform, secret in (("whatsapp", signing.WHATSAPP_APP_SECRET), ("messenger", signing.MESSENGER_APP_SECRET)):
        marker = lab.marker(f"upperhex-{platform}")
        body = message_body(platform, lab.number(), lab.person(), marker)
        signature = "SHA256=" + signing.meta_signature(body, secret)[7:].upper()
        reply = await send(lab, t, f"/webhooks/{platform}", body, {"Content-Type": JSON,
                                                                   "X-Hub-Signature-256": signature})
        lab.accepted.add(marker)
        count = (await reached_once(lab, t, [marker]))[marker]
        rows.add(f"{platform}: valid signature as SHA256=<upper-case hex>", "same MAC, other case", reply,
                 f"reached Rasa {count}x", reply.status == 200 and count == 1,
                 "hex is case-insensitive: the same 256-bit value, not a bypass")
    return rows.rows


async def telegram_secrets(lab: Lab) -> list[Row]:
    rows, t = Rows("1.3"), await lab.target("main")
    marker = lab.marker("forged-telegram")
    body = message_body("telegram", lab.number(), lab.person(), marker)
    secret = signing.TELEGRAM_SECRET
    variants = [("secret header missing", None), ("empty secret", ""), ("wrong secret", "tg_secret_WRONG_1"),
                ("secret minus its last character", secret[:-1]), ("secret upper-cased", secret.upper()),
                ("secret plus one character", secret + "x")]
    cases = []
    for label, value in variants:
        headers = {"Content-Type": JSON, **({"X-Telegram-Bot-Api-Secret-Token": value} if value is not None else {})}
        cases.append((f"telegram: {label}", repr(value)[:24], await send(lab, t, "/webhooks/telegram", body, headers)))
    refused_rows(rows, lab, t, cases, marker)
    return rows.rows


async def twilio_forgeries(lab: Lab) -> list[Row]:
    rows, t = Rows("1.4"), await lab.target("main")
    marker = lab.marker("forged-twilio")
    params = signing.twilio_params(f"SM{lab.number():032x}", signing.user_id("twilio", lab.person()), marker)
    other = signing.twilio_params(f"SM{lab.number():032x}", signing.user_id("twilio", lab.person()), marker + "-b")
    body = urlencode(params).encode()
    url = signing.twilio_url()
    good = signing.twilio_signature(url, params)
    forgeries: list[tuple[str, str | None, bytes, str]] = [
        ("no X-Twilio-Signature", None, body, ""),
        ("wrong signature", "eHh4eHh4eHh4eHh4eHh4eHh4eHg=", body, ""),
        ("signature minus 4 characters", good[:-4], body, ""),
        ("signature with its case swapped", good.swapcase(), body, ""),
        ("valid signature of other parameters", signing.twilio_signature(url, other), body, ""),
        ("signed for another public URL",
         signing.twilio_signature("https://attacker.example.net/webhooks/twilio", params), body, ""),
        ("signed for the gateway's own URL (a public URL is set)",
         signing.twilio_signature(f"{t.url}/webhooks/twilio", params), body, ""),
        ("signed over http:// instead of https://",
         signing.twilio_signature(url.replace("https://", "http://"), params), body, ""),
        ("parameter added after signing", good, body + b"&Extra=1", ""),
        ("query string added, signature over the bare URL", good, body, "?x=1"),
    ]
    cases = []
    for label, signature, payload, query in forgeries:
        headers = {"Content-Type": signing.FORM, **({"X-Twilio-Signature": signature} if signature else {})}
        cases.append((f"twilio: {label}", str(signature)[:24],
                      await send(lab, t, "/webhooks/twilio" + query, payload, headers)))
    refused_rows(rows, lab, t, cases, marker)
    return rows.rows


async def twilio_port_and_account(lab: Lab) -> list[Row]:
    rows, t = Rows("1.5"), await lab.target("main")
    marker = lab.marker("twilio-port")
    params = signing.twilio_params(f"SM{lab.number():032x}", signing.user_id("twilio", lab.person()), marker)
    signature = signing.twilio_signature(PUBLIC_URL + ":443/webhooks/twilio", params)
    reply = await send(lab, t, "/webhooks/twilio", urlencode(params).encode(),
                       {"Content-Type": signing.FORM, "X-Twilio-Signature": signature})
    lab.accepted.add(marker)
    count = (await reached_once(lab, t, [marker]))[marker]
    rows.add("twilio: signed over https://host:443/... (the default port written out)", "port toggled", reply,
             f"reached Rasa {count}x", reply.status == 200 and count == 1, "Twilio signs either form")
    foreign = lab.marker("twilio-account")
    params = signing.twilio_params(f"SM{lab.number():032x}", signing.user_id("twilio", lab.person()), foreign,
                                   account="AC" + "cd" * 16)
    reply = await send(lab, t, "/webhooks/twilio", urlencode(params).encode(),
                       {"Content-Type": signing.FORM, "X-Twilio-Signature": signing.twilio_signature(
                           signing.twilio_url(), params)})
    refused_rows(rows, lab, t, [("twilio: valid signature, another AccountSid", "AccountSid=ACcdcd…", reply)],
                 foreign, allowed=(403,))
    return rows.rows


async def viber_signatures(lab: Lab) -> list[Row]:
    rows, t = Rows("1.6"), await lab.target("main")
    marker = lab.marker("forged-viber")
    body = message_body("viber", lab.number(), lab.person(), marker)
    other = message_body("viber", lab.number(), lab.person(), marker + "-b")
    good = signing.viber_signature(body)
    cases = []
    for label, value in (("no X-Viber-Content-Signature", None), ("64 zeros", "0" * 64),
                         ("signature minus 2 hex digits", good[:-2]),
                         ("valid signature of another body", signing.viber_signature(other))):
        headers = {"Content-Type": JSON, **({"X-Viber-Content-Signature": value} if value is not None else {})}
        cases.append((f"viber: {label}", str(value)[:24], await send(lab, t, "/webhooks/viber", body, headers)))
    refused_rows(rows, lab, t, cases, marker)
    upper = lab.marker("viber-upper")
    body = message_body("viber", lab.number(), lab.person(), upper)
    upper_hex = signing.viber_signature(body).upper()
    reply = await send(lab, t, "/webhooks/viber", body, {"Content-Type": JSON, "X-Viber-Content-Signature": upper_hex})
    lab.accepted.add(upper)
    count = (await reached_once(lab, t, [upper]))[upper]
    rows.add("viber: valid signature in upper-case hex", "same MAC", reply, f"reached Rasa {count}x",
             reply.status == 200 and count == 1)
    return rows.rows


async def replays(lab: Lab) -> list[Row]:
    rows, t = Rows("1.7"), await lab.target("main")
    sent: list[tuple[str, str, list[Reply]]] = []
    for platform in signing.PLATFORMS:
        marker = lab.marker(f"replay-{platform}")
        hook = signing.webhook(platform, lab.number(), lab.person(), marker)
        replies = [await send(lab, t, hook.path, hook.body, hook.headers) for _ in range(3)]
        sent.append((f"{platform}: the same signed message 3 times", marker, replies))
    for platform in ("whatsapp", "messenger"):  # a redelivery need not be byte-identical
        marker = lab.marker(f"reserialised-{platform}")
        number, person = lab.number(), lab.person()
        first = message_body(platform, number, person, marker)
        again = json.dumps(json.loads(first), indent=1, ensure_ascii=False).encode()
        replies = [await send(lab, t, f"/webhooks/{platform}", body, signed(platform, body)) for body in (first, again)]
        sent.append((f"{platform}: redelivered with the same ID, serialised differently", marker, replies))
    chat = lab.webchat(t)
    session, _ = await chat.session()
    other, _ = await chat.session()
    if session and other:
        marker = lab.marker("replay-webchat")
        replies = [await chat.send(session, marker, message_id="retry1") for _ in range(3)]
        sent.append(("webchat: the same session and message id 3 times (a retried send)", marker, replies))
        marker = lab.marker("replay-webchat-other")
        sent.append(("webchat: the same message id from another session", marker,
                     [await chat.send(other, marker, message_id="retry1")]))
    counts = await reached_once(lab, t, [marker for _, marker, _ in sent])
    for label, marker, replies in sent:
        lab.accepted.add(marker)
        statuses = [r.status for r in replies]
        rows.add(label, f"{len(replies)} requests", "/".join(map(str, statuses)), f"reached Rasa {counts[marker]}x",
                 all(s == 200 for s in statuses) and counts[marker] == 1, "must reach Rasa exactly once")
    return rows.rows


async def handshake_refusals(lab: Lab) -> list[Row]:
    rows, t = Rows("1.8"), await lab.target("main")
    for platform, token in (("whatsapp", signing.WHATSAPP_VERIFY_TOKEN), ("messenger", signing.MESSENGER_VERIFY_TOKEN)):
        variants = [("wrong verify token", {"hub.mode": "subscribe", "hub.verify_token": "wrong"}),
                    ("no verify token", {"hub.mode": "subscribe"}),
                    ("a prefix of the verify token", {"hub.mode": "subscribe", "hub.verify_token": token[:-1]}),
                    ("hub.mode other than subscribe", {"hub.mode": "unsubscribe", "hub.verify_token": token})]
        for label, query in variants:
            reply = await lab.http.get(f"{t.url}/webhooks/{platform}", params={**query, "hub.challenge": "1158201444"})
            rows.add(f"{platform} handshake: {label}", json.dumps(query)[:60], reply, reply.excerpt(),
                     reply.status == 403 and "1158201444" not in reply.text)
        reply = await lab.http.get(f"{t.url}/webhooks/{platform}", params={
            "hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": "1158201444"})
        rows.add(f"{platform} handshake: the right token (sanity)", "right token", reply, reply.excerpt(),
                 reply.status == 200 and reply.text == "1158201444")
    return rows.rows


async def handshake_echo(lab: Lab) -> list[Row]:
    rows, t = Rows("1.9"), await lab.target("main")
    for platform, token in (("whatsapp", signing.WHATSAPP_VERIFY_TOKEN), ("messenger", signing.MESSENGER_VERIFY_TOKEN)):
        query = {"hub.mode": "subscribe", "hub.verify_token": token}
        reply = await lab.http.get(f"{t.url}/webhooks/{platform}", params={**query, "hub.challenge": XSS[1]})
        kind = reply.headers.get("Content-Type", "")
        sniff = reply.headers.get("X-Content-Type-Options", "")
        rows.add(f"{platform} handshake: challenge is a <script>", "right token", reply,
                 f"Content-Type {kind}; nosniff={sniff or 'absent'}",
                 reply.status >= 400 or (kind.startswith("text/plain") and sniff == "nosniff"))
        reply = await lab.http.get(f"{t.url}/webhooks/{platform}", params={**query, "hub.challenge": "7" * 300})
        rows.add(f"{platform} handshake: 300-character challenge", "right token", reply, reply.excerpt(),
                 reply.status == 400)
    return rows.rows


async def non_utf8_auth_headers(lab: Lab) -> list[Row]:
    rows, t = Rows("1.10"), await lab.target("main")
    marker = lab.marker("badbyte")
    person = lab.person()
    variants = [("telegram", b"X-Telegram-Bot-Api-Secret-Token", b"tg_\xff\xfe"),
                ("viber", b"X-Viber-Content-Signature", b"\xff" + b"0" * 63),
                ("twilio", b"X-Twilio-Signature", b"\xff\xfeabc="),
                ("whatsapp", b"X-Hub-Signature-256", b"sha256=\xff" + b"0" * 63)]
    cases = []
    for platform, header, value in variants:
        body = message_body(platform, lab.number(), person, marker)
        kind = signing.FORM if platform == "twilio" else JSON
        request = raw_post(HOST, t.port, f"/webhooks/{platform}", body,
                           [(b"Content-Type", kind.encode()), (header, value)])
        reply = await raw(HOST, t.port, request)
        cases.append((f"{platform}: auth header holding a 0xFF byte", repr(value)[:30], reply))
    refused_rows(rows, lab, t, cases, marker, allowed=(400, 401, 403), note="no credential needed; never a 5xx")
    return rows.rows


# 2 input: what a signed (or unsigned) body may hold


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


async def _chunks(total: int, size: int = 16 * 1024) -> AsyncIterator[bytes]:
    sent = 0
    while sent < total:
        piece = min(size, total - sent)
        yield b"a" * piece
        sent += piece


async def over_the_cap(lab: Lab) -> list[Row]:
    rows, t = Rows("2.4"), await lab.target("main")
    body = b'{"x": "' + b"a" * 300_000 + b'"}'
    for path, kind in (("/webhooks/whatsapp", JSON), ("/webhooks/telegram", JSON),
                       ("/webhooks/twilio", signing.FORM), ("/chat/api/messages", JSON)):
        reply = await lab.http.post(t.url + path, data=body, headers={"Content-Type": kind})
        rows.add(f"{path}: 300 KB with Content-Length", f"{len(body):,} bytes", reply, reply.excerpt(),
                 reply.status == 413)
    reply = await lab.http.post(t.url + "/webhooks/telegram", data=_chunks(400_000), headers={"Content-Type": JSON})
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
    headers = {"Content-Type": JSON, "Content-Encoding": "gzip"}
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


# 3 web chat


async def webchat_page_headers(lab: Lab) -> list[Row]:
    rows, t = Rows("3.1"), await lab.target("main")
    reply = await lab.http.get(t.url + "/chat")
    csp = reply.headers.get("Content-Security-Policy", "")
    wanted = {"script-src by hash": "script-src 'sha256-" in csp and "unsafe-inline" not in csp,
              "frame-ancestors 'none'": "frame-ancestors 'none'" in csp,
              "X-Frame-Options DENY": reply.headers.get("X-Frame-Options") == "DENY",
              "nosniff": reply.headers.get("X-Content-Type-Options") == "nosniff",
              "no-referrer": reply.headers.get("Referrer-Policy") == "no-referrer"}
    missing = [name for name, ok in wanted.items() if not ok]
    rows.add("GET /chat: security headers", "GET /chat", reply, "missing: " + ", ".join(missing) if missing else
             "all present", reply.status == 200 and not missing)
    return rows.rows


SINKS = ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function")


async def webchat_xss(lab: Lab) -> list[Row]:
    rows, t = Rows("3.2"), await lab.target("main")
    chat = lab.webchat(t)
    session, _ = await chat.session()
    marker = lab.marker("xss")
    reply = await chat.send(session or "", f"{marker} {XSS[0]} {XSS[1]} BUTTONS")
    lab.accepted.add(marker)
    kind = reply.headers.get("Content-Type", "")
    rows.add("webchat: markup in a message, echoed back by the bot", "<img onerror> <script>", reply,
             f"Content-Type {kind}; nosniff={reply.headers.get('X-Content-Type-Options', 'absent')}",
             reply.status == 200 and kind.startswith("application/json")
             and reply.headers.get("X-Content-Type-Options") == "nosniff")
    page = (await lab.http.get(t.url + "/chat")).text
    found = {sink: page.count(sink) for sink in SINKS if sink in page}
    rows.add("web chat page: HTML sinks in its script", "GET /chat", 200, json.dumps(found) if found else "none",
             not found, "text shown as text nodes only")
    return rows.rows


async def webchat_cors(lab: Lab) -> list[Row]:
    rows, t = Rows("3.3"), await lab.target("main")
    reply = await lab.http.request("OPTIONS", t.url + "/chat/api/messages", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    allowed = [h for h in reply.headers if h.lower().startswith("access-control-")]
    rows.add("CORS preflight from another origin", "OPTIONS, Origin: evil", reply,
             ", ".join(allowed) or "no Access-Control-* headers", not allowed)
    chat = lab.webchat(t)
    session, _ = await chat.session()
    reply = await chat.poll(session or "", headers={"Origin": "https://evil.example"})
    allowed = [h for h in reply.headers if h.lower().startswith("access-control-")]
    rows.add("cross-origin read of a mailbox", "GET, Origin: evil", reply,
             ", ".join(allowed) or "no Access-Control-* headers", not allowed)
    return rows.rows


async def webchat_cross_origin(lab: Lab) -> list[Row]:
    rows, t = Rows("3.4"), await lab.target("main")
    chat = lab.webchat(t)
    session, _ = await chat.session()
    marker = lab.marker("crossorigin")
    for label, headers in (("Origin: https://evil.example", {"Origin": "https://evil.example"}),
                           ("Origin: null", {"Origin": "null"}),
                           ("Sec-Fetch-Site: cross-site, no Origin", {"Sec-Fetch-Site": "cross-site"}),
                           ("Origin with the host as a prefix of another", {"Origin": f"{t.url}.evil.example"})):
        reply = await chat.send(session or "", marker, headers=headers)
        rows.add(f"webchat POST, {label}", label, reply, reply.excerpt(), reply.status == 403)
    lab.refused.add(marker)
    for label, origin in (("Origin: the public URL", PUBLIC_URL), ("Origin: matching Host", t.url)):
        good = lab.marker("sameorigin")
        reply = await chat.send(session or "", good, headers={"Origin": origin})
        lab.accepted.add(good)
        rows.add(f"webchat POST, {label} (sanity)", label, reply, reply.excerpt(), reply.status == 200)
    return rows.rows


async def guessed_sessions(lab: Lab) -> list[Row]:
    rows, t = Rows("3.5"), await lab.target("main")
    chat = lab.webchat(t)
    session, _ = await chat.session()
    marker = lab.marker("mine")
    await chat.send(session or "", marker)
    lab.accepted.add(marker)
    own = await chat.poll(session or "")
    mine = len((own.json() or {}).get("messages", [])) if isinstance(own.json(), dict) else 0
    rows.add("sanity: a session reads its own mailbox", "GET own session", own, f"{mine} messages", mine >= 1)
    real = session or "x" * 32
    guesses = [real[:-1] + ("A" if real[-1] != "A" else "B"), "a" * 16, "0" * 16, "A" * 32, "test" * 4,
               "abcdefghijklmnop", "0123456789abcdef", real[::-1]]
    guesses += [secrets.token_urlsafe(24) for _ in range(max(0, lab.profile.guesses - len(guesses)))]
    hits = 0
    statuses: Counter[int] = Counter()
    for guess in guesses:
        reply = await chat.poll(guess)
        statuses[reply.status] += 1
        data = reply.json()
        hits += reply.status == 200 and isinstance(data, dict) and bool(data.get("messages"))
    rows.add(f"read another person's mailbox: {len(guesses)} guessed sessions", "neighbour, patterns, random",
             json.dumps(dict(statuses)), f"{hits} mailboxes read", hits == 0)
    return rows.rows


async def weak_client_session(lab: Lab) -> list[Row]:
    rows, t = Rows("3.6"), await lab.target("main")
    chat = lab.webchat(t)
    marker = lab.marker("weak")
    reply = await chat.send("a" * 16, marker)
    if reply.status == 200:
        lab.accepted.add(marker)
    else:
        lab.refused.add(marker)
    rows.add("a session the client chose, and weak ('a' × 16)", "session=aaaaaaaaaaaaaaaa", reply, reply.excerpt(),
             client_error(reply), "sessions should come from the server", failing=RISK)
    return rows.rows


async def webchat_rate_limits(lab: Lab) -> list[Row]:
    rows, t = Rows("3.7"), await lab.target("limits")
    n = lab.profile.burst
    chat = lab.webchat(t)
    session, _ = await chat.session()
    limit = asyncio.Semaphore(30)

    async def one(text: str, who: str | None) -> Reply:
        async with limit:
            if who is None:
                who, refused = await chat.session()
                if who is None:
                    return refused
            return await chat.send(who, text, message_id=secrets.token_hex(4))

    def judged(replies: list[Reply]) -> tuple[Counter[int], bool]:
        statuses = Counter(r.status for r in replies)
        throttled = [r for r in replies if r.status == 429]
        return statuses, bool(throttled) and all(r.headers.get("Retry-After") for r in throttled)

    started = time.monotonic()
    replies = await asyncio.gather(*(one(f"burst {i}", session) for i in range(n)))
    statuses, ok = judged(list(replies))
    rows.add(f"{n} POSTs from one session (concurrency 30)", f"{n} × POST", json.dumps(dict(statuses)),
             f"{time.monotonic() - started:.1f} s", ok, "some answered 429 with Retry-After")
    started = time.monotonic()
    replies = await asyncio.gather(*(one(f"new {i}", None) for i in range(n)))
    statuses, ok = judged(list(replies))
    rows.add(f"{n} POSTs from {n} new sessions", f"{n} × session + POST", json.dumps(dict(statuses)),
             f"{time.monotonic() - started:.1f} s", ok, "new sessions from one address are limited too")
    polls = await asyncio.gather(*(chat.poll(session or "") for _ in range(lab.profile.polls)))
    statuses, ok = judged(list(polls))
    rows.add(f"{lab.profile.polls} polls from one session", f"{lab.profile.polls} × GET", json.dumps(dict(statuses)),
             "", ok, "polls are limited too", failing=RISK)
    return rows.rows


# 4 console


async def open_case(lab: Lab, t: Target, console: Console, via: str = "whatsapp", extra: str = "") -> int | None:
    """Open a hotline case through ``via`` (the fake Rasa hands off on HANDOFF) and find its number."""
    marker = lab.marker("case")
    text = f"HANDOFF {marker} {extra}".strip()
    if via == "webchat":
        chat = lab.webchat(t)
        session, _ = await chat.session()
        await chat.send(session or "", text)
    else:
        hook = signing.webhook(via, lab.number(), lab.person(), text)
        await send(lab, t, hook.path, hook.body, hook.headers)
    lab.accepted.add(marker)
    if not await t.rasa.wait_for([marker], ARRIVAL_WAIT):
        return None
    deadline = time.monotonic() + ARRIVAL_WAIT
    while time.monotonic() < deadline:
        queue = (await console.get("/console")).text
        for number in sorted({int(n) for n in re.findall(r"/console/cases/(\d+)", queue)}, reverse=True):
            if marker in (await console.get(f"/console/cases/{number}")).text:
                return number
        await asyncio.sleep(0.2)
    return None


async def case_action(console: Console, case_id: int, action: str, fields: Mapping[str, str] | None = None,
                      csrf: str | None = VALID, headers: Mapping[str, str] | None = None) -> Reply:
    """POST a case form: with the page's valid CSRF token, another one, or none (None)."""
    form = dict(fields or {})
    if csrf == VALID:
        form.update(await console.form_token(f"/console/cases/{case_id}"))
    elif csrf is not None:
        form["csrf"] = csrf
    return await console.post(f"/console/cases/{case_id}/{action}", form, headers)


def to_login(reply: Reply) -> bool:
    return reply.status in (302, 303) and reply.headers.get("Location", "").endswith(LOGIN_PATH)


async def console_requires_login(lab: Lab) -> list[Row]:
    rows, t = Rows("4.1"), await lab.target("main")
    anonymous = Console(lab.http, t.url)
    pages = ["/console", "/console/cases/1", "/console/audit", "/console/failed", "/console/cases/999999999999"]
    for path in pages:
        reply = await anonymous.get(path)
        rows.add(f"GET {path} without signing in", "no cookie", reply, reply.headers.get("Location", reply.excerpt()),
                 to_login(reply) or reply.status in (401, 403))
    for path in ("/console/cases/1/claim", "/console/cases/1/reply", "/console/cases/1/note",
                 "/console/cases/1/close", "/console/logout"):
        reply = await anonymous.post(path, {"text": "x", "csrf": "x"})
        rows.add(f"POST {path} without signing in", "no cookie", reply, reply.headers.get("Location", reply.excerpt()),
                 to_login(reply) or reply.status in (401, 403))
    forged = Console(lab.http, t.url)
    forged.cookies[COOKIE] = secrets.token_urlsafe(32)
    reply = await forged.get("/console/cases/1")
    rows.add("GET a case with a forged session cookie", "rights_console=<random>", reply,
             reply.headers.get("Location", reply.excerpt()), to_login(reply) or reply.status in (401, 403))
    return rows.rows


async def signin_refusals(lab: Lab) -> list[Row]:
    rows, t = Rows("4.2"), await lab.target("main")
    console = Console(lab.http, t.url)
    reply = await console.login("alice", "wrong-password-123")
    rows.add("sign in with a wrong password", "alice / wrong", reply,
             f"session cookie set: {COOKIE in console.cookies}",
             reply.status == 401 and COOKIE not in console.cookies)
    timings: dict[str, list[float]] = {"alice": [], "nosuchuser": []}
    for _ in range(lab.profile.timing_tries):
        for name in timings:
            attempt = await Console(lab.http, t.url).login(name, "wrong-password-123")
            timings[name].append(attempt.ms)
    known, unknown = (statistics.median(timings[n]) for n in ("alice", "nosuchuser"))
    rows.add(f"unknown user vs known user ({lab.profile.timing_tries} tries each)", "nosuchuser / alice",
             401, f"median {unknown:.1f} ms vs {known:.1f} ms",
             abs(known - unknown) < 10 or 0.5 < unknown / max(known, 0.1) < 2, "no username enumeration by timing")
    evil = '"><script>alert(1)</script>'
    reply = await Console(lab.http, t.url).login(evil, "wrong-password-123")
    rows.add("the sign-in page reflects the username", evil, reply,
             "raw markup in the page" if "<script>alert(1)" in reply.text else "escaped",
             "<script>alert(1)" not in reply.text)
    return rows.rows


async def signin_throttling(lab: Lab) -> list[Row]:
    rows, t = Rows("4.3"), await lab.target("limits")
    n = lab.profile.brute_force
    limit = asyncio.Semaphore(10)

    async def guess(i: int) -> Reply:
        async with limit:
            return await Console(lab.http, t.url).login("alice", f"guess-number-{i:06d}")

    started = time.monotonic()
    replies = await asyncio.gather(*(guess(i) for i in range(n)))
    took = time.monotonic() - started
    statuses = Counter(r.status for r in replies)
    throttled = statuses.get(429, 0) + statuses.get(403, 0) + statuses.get(423, 0)
    rows.add(f"{n} wrong passwords for one account (concurrency 10)", f"alice / {n} guesses",
             json.dumps(dict(statuses)), f"{took:.1f} s = {n / max(took, 0.001):.0f} guesses/s", throttled > 0,
             "throttled or locked out")
    console = Console(lab.http, t.url)
    reply = await console.login("alice", OPERATOR_PASSWORDS["alice"])
    signed_in = reply.status in (302, 303) and COOKIE in console.cookies
    rows.add("the right password just after the burst", "alice / right", reply,
             "signed in" if signed_in else reply.excerpt(), not signed_in, "refused while locked out")
    return rows.rows


async def console_csrf(lab: Lab) -> list[Row]:
    rows, t = Rows("4.5"), await lab.target("main")
    alice, bob = await lab.operator(t, "alice"), await lab.operator(t, "bob")
    case_id = await open_case(lab, t, alice)
    if case_id is None:
        rows.add("open a case to probe", "HANDOFF", "", "no case appeared", False)
        return rows.rows
    bob_token = (await bob.form_token(f"/console/cases/{case_id}")).get("csrf", "")
    good = (await alice.form_token(f"/console/cases/{case_id}")).get("csrf", "")
    note = lab.marker("csrf-note")
    tokens = [("no token", None), ("a wrong token", "wrong-token"), ("the token minus one character", good[:-1]),
              ("another operator's token", bob_token)]
    for action in ("claim", "reply", "note", "close"):
        for label, token in tokens:
            reply = await case_action(alice, case_id, action, {"text": note}, csrf=token)
            rows.add(f"{action} with {label}", label, reply, reply.excerpt(60), reply.status == 403)
    for label, token in tokens:
        reply = await alice.post("/console/logout", {} if token is None else {"csrf": token})
        rows.add(f"logout with {label}", label, reply, reply.excerpt(60), reply.status == 403)
    page = (await alice.get(f"/console/cases/{case_id}")).text
    still_open = "Claim this case" in page
    rows.add("nothing was done", f"case {case_id}", 200,
             f"still open: {still_open}; note shown: {note in page}; replies sent: {t.api.count(note)}",
             still_open and note not in page and t.api.count(note) == 0 and "/console/logout" in page)
    return rows.rows


async def console_cross_site(lab: Lab) -> list[Row]:
    rows, t = Rows("4.6"), await lab.target("main")
    alice = await lab.operator(t, "alice")
    case_id = await open_case(lab, t, alice)
    if case_id is None:
        rows.add("open a case to probe", "HANDOFF", "", "no case appeared", False)
        return rows.rows
    for label, headers in (("Origin: https://evil.example", {"Origin": "https://evil.example"}),
                           ("Sec-Fetch-Site: cross-site", {"Sec-Fetch-Site": "cross-site"})):
        reply = await case_action(alice, case_id, "claim", headers=headers)
        rows.add(f"claim with a valid token but {label}", label, reply, reply.excerpt(60), reply.status == 403)
    reply = await case_action(alice, case_id, "claim", headers={"Origin": "null"})
    rows.add("claim with a valid token and Origin: null (allowed, documented)", "Origin: null", reply,
             reply.headers.get("Location", ""), reply.status in (302, 303),
             "browsers send null for no-referrer pages")
    return rows.rows


async def cookie_flags(lab: Lab) -> list[Row]:
    rows, t = Rows("4.7"), await lab.target("main")
    console = Console(lab.http, t.url)
    reply = await console.login("alice", OPERATOR_PASSWORDS["alice"])
    flags = console.set_cookie.get(COOKIE, "")
    wanted = ("HttpOnly", "SameSite=Strict", "Secure", "Path=/console", "Max-Age=")
    missing = [flag for flag in wanted if flag.lower() not in flags.lower()]
    rows.add("session cookie flags (public URL https)", "alice / right", reply,
             re.sub(r"=[A-Za-z0-9_-]{20,}", "=<token>", flags), reply.status == 303 and not missing,
             f"missing: {', '.join(missing)}" if missing else "")
    return rows.rows


async def cookie_without_public_url(lab: Lab) -> list[Row]:
    rows, t = Rows("4.8"), await lab.target("nopublic")
    console = Console(lab.http, t.url)
    reply = await console.login("alice", OPERATOR_PASSWORDS["alice"], headers={"X-Forwarded-Proto": "https"})
    flags = console.set_cookie.get(COOKIE, "")
    rows.add("session cookie with GATEWAY_PUBLIC_URL unset (behind TLS)", "alice / right", reply,
             re.sub(r"=[A-Za-z0-9_-]{20,}", "=<token>", flags), "secure" in flags.lower(), "Secure by default")
    return rows.rows


async def session_fixation(lab: Lab) -> list[Row]:
    rows, t = Rows("4.9"), await lab.target("main")
    planted = secrets.token_urlsafe(32)
    console = Console(lab.http, t.url)
    console.cookies[COOKIE] = planted
    reply = await console.login("alice", OPERATOR_PASSWORDS["alice"])
    fresh = console.cookies.get(COOKIE, "")
    attacker = Console(lab.http, t.url)
    attacker.cookies[COOKIE] = planted
    after = await attacker.get("/console")
    rows.add("a planted cookie, then sign in", "Cookie: rights_console=<attacker's>", reply,
             f"new token differs: {bool(fresh) and fresh != planted}; planted value -> {after.status}",
             bool(fresh) and fresh != planted and (to_login(after) or after.status in (401, 403)))
    return rows.rows


async def logout(lab: Lab) -> list[Row]:
    rows, t = Rows("4.10"), await lab.target("main")
    alice = await lab.operator(t, "alice")
    case_id = await open_case(lab, t, alice)
    old_cookie = dict(alice.cookies)
    case_token = (await alice.form_token(f"/console/cases/{case_id}")).get("csrf", "") if case_id else ""
    reply = await alice.post("/console/logout", await alice.form_token("/console"))
    rows.add("logout with its token", "POST /console/logout", reply, reply.headers.get("Location", ""), to_login(reply))
    replay = Console(lab.http, t.url)
    replay.cookies.update(old_cookie)
    after = await replay.get("/console")
    rows.add("the old cookie after logout", "GET /console", after, after.headers.get("Location", ""),
             to_login(after) or after.status in (401, 403))
    if case_id:
        note = lab.marker("after-logout")
        posted = await replay.post(f"/console/cases/{case_id}/note", {"csrf": case_token, "text": note})
        rows.add("the old cookie and token after logout", "POST note", posted, posted.headers.get("Location", ""),
                 to_login(posted) or posted.status in (401, 403))
    reply = await lab.http.get(t.url + "/console/logout")
    rows.add("GET /console/logout", "GET", reply, reply.excerpt(60), reply.status == 405)
    return rows.rows


async def console_xss(lab: Lab) -> list[Row]:
    rows, t = Rows("4.11"), await lab.target("main")
    alice = await lab.operator(t, "alice")
    case_id = await open_case(lab, t, alice, via="webchat", extra=" ".join(XSS))
    if case_id is None:
        rows.add("open a case from the web chat", "HANDOFF + markup", "", "no case appeared", False)
        return rows.rows
    await case_action(alice, case_id, "claim")
    await case_action(alice, case_id, "reply", {"text": f"reply {XSS[0]}"})
    await case_action(alice, case_id, "note", {"text": f"note {XSS[1]}"})
    for label, path in (("case page: transcript, summary, topic, citations, reply, note", f"/console/cases/{case_id}"),
                        ("queue page: topic column", "/console")):
        reply = await alice.get(path)
        raw_found = [x for x in XSS if x in reply.text]
        escaped = sum(reply.text.count(html.escape(x)) for x in XSS)
        rows.add(f"stored XSS: {label}", "<img onerror>, <script>", reply,
                 f"raw markup: {len(raw_found)}; escaped: {escaped}", not raw_found and reply.status == 200)
    csp = (await alice.get(f"/console/cases/{case_id}")).headers.get("Content-Security-Policy", "")
    rows.add("console CSP allows no script", "GET case", 200, csp[:80],
             "default-src 'none'" in csp and "script-src" not in csp)
    return rows.rows


async def console_idor(lab: Lab) -> list[Row]:
    rows, t = Rows("4.12"), await lab.target("main")
    alice, bob = await lab.operator(t, "alice"), await lab.operator(t, "bob")
    case_id = await open_case(lab, t, alice)
    if case_id is None:
        rows.add("open a case to probe", "HANDOFF", "", "no case appeared", False)
        return rows.rows
    await case_action(alice, case_id, "claim")
    reply_marker = lab.marker("bob-reply")
    reply = await case_action(bob, case_id, "reply", {"text": reply_marker})
    await settle(0.5)
    rows.add("bob replies on alice's claimed case", "bob's cookie and token", reply,
             f"replies sent: {t.api.count(reply_marker)}",
             reply.status in (403, 409) and t.api.count(reply_marker) == 0)
    reply = await case_action(bob, case_id, "claim")
    rows.add("bob claims alice's claimed case", "bob's cookie and token", reply, reply.excerpt(60),
             reply.status in (403, 409))
    for number in ("0", "999999999999", "1000000000000", "-1", "1abc"):
        reply = await alice.get(f"/console/cases/{number}")
        rows.add(f"case id {number}", "GET", reply, reply.excerpt(40), reply.status == 404)
    return rows.rows


async def shared_queue(lab: Lab) -> list[Row]:
    rows, t = Rows("4.13"), await lab.target("main")
    alice, bob = await lab.operator(t, "alice"), await lab.operator(t, "bob")
    case_id = await open_case(lab, t, alice)
    if case_id is None:
        rows.add("open a case to probe", "HANDOFF", "", "no case appeared", False)
        return rows.rows
    await case_action(alice, case_id, "claim")
    reply = await bob.get(f"/console/cases/{case_id}")
    rows.add("bob reads alice's claimed case", "bob's cookie", reply, "transcript shown" if reply.status == 200 else
             reply.excerpt(60), reply.status != 200 or RISK, "one shared queue, by design")
    reply = await case_action(bob, case_id, "note", {"text": lab.marker("bob-note")})
    rows.add("bob adds a note to alice's claimed case", "bob's cookie and token", reply,
             reply.headers.get("Location", reply.excerpt(60)), reply.status not in (302, 303) or RISK,
             "one shared queue, by design")
    return rows.rows


async def open_redirects(lab: Lab) -> list[Row]:
    rows, t = Rows("4.14"), await lab.target("main")
    console = Console(lab.http, t.url)
    fields = hidden_fields((await console.get(LOGIN_PATH)).text)
    reply = await console.post(LOGIN_PATH + "?next=https://evil.example",
                               {**fields, "username": "alice", "password": OPERATOR_PASSWORDS["alice"]})
    targets = [("sign in with ?next=https://evil.example", reply)]
    for path in ("//evil.example/", "/console/%2e%2e/%2e%2e//evil.example", "/console/", "/console/login/"):
        targets.append((f"GET {path}", await console.get(path)))
    for label, reply in targets:
        location = reply.headers.get("Location", "")
        local = not location or (location.startswith("/") and not location.startswith("//"))
        rows.add(f"open redirect: {label}", label, reply, location or "no redirect", local,
                 "every redirect goes to a fixed local path")
    return rows.rows


async def console_headers(lab: Lab) -> list[Row]:
    rows, t = Rows("4.15"), await lab.target("main")
    alice = await lab.operator(t, "alice")
    for path in ("/console/login", "/console", "/console/cases/999999", "/console/static/console.css",
                 "/console/nonexistent"):
        reply = await (alice.get(path) if path != "/console/login" else Console(lab.http, t.url).get(path))
        missing = [name for name, value in CONSOLE_HEADERS.items() if value not in reply.headers.get(name, "")]
        rows.add(f"security headers on {path}", "GET", reply, "missing: " + ", ".join(missing) if missing else
                 "all present", not missing)
    return rows.rows


async def console_bad_bytes(lab: Lab) -> list[Row]:
    rows, t = Rows("4.16"), await lab.target("main")
    console = Console(lab.http, t.url)
    fields = hidden_fields((await console.get(LOGIN_PATH)).text)
    token = urlencode(fields).encode()
    cookie = "; ".join(f"{k}={v}" for k, v in console.cookies.items())
    headers = {"Cookie": cookie} if cookie else {}
    bogus = signing.FORM + "; charset=bogus"
    for label, body, kind in (("a body that is not UTF-8", b"username=\xff\xfe&password=x&" + token, signing.FORM),
                              ("charset=bogus", b"username=alice&password=x&" + token, bogus)):
        reply = await lab.http.post(t.url + LOGIN_PATH, data=body, headers={"Content-Type": kind, **headers})
        rows.add(f"sign-in form: {label}", repr(body[:24]), reply, reply.excerpt(60), 400 <= reply.status < 500,
                 "a 4xx, never a 5xx")
    request = (f"GET /console HTTP/1.1\r\nHost: {HOST}:{t.port}\r\nConnection: close\r\n".encode()
               + b'Cookie: rights_console="\xff\xfe"\r\n\r\n')
    reply = await raw(HOST, t.port, request)
    rows.add("console cookie holding non-UTF-8 bytes", 'rights_console="\\xff\\xfe"', reply,
             reply.headers.get("Location", reply.excerpt(60)), to_login(reply) or 400 <= reply.status < 500)
    long = Console(lab.http, t.url)
    long.cookies[COOKIE] = "x" * 300
    reply = await long.get("/console")
    rows.add("console cookie of 300 characters", "x × 300", reply, reply.headers.get("Location", ""),
             to_login(reply) or 400 <= reply.status < 500)
    return rows.rows


async def login_csrf(lab: Lab) -> list[Row]:
    rows, t = Rows("4.17"), await lab.target("main")
    console = Console(lab.http, t.url)
    reply = await console.post(LOGIN_PATH, {"username": "bob", "password": OPERATOR_PASSWORDS["bob"]},
                               headers={"Origin": "null"})
    signed_in = COOKIE in console.cookies
    rows.add("sign-in POST without the form's token, Origin: null", "bob / right, no token", reply,
             "signed in" if signed_in else reply.excerpt(60), not signed_in, "the sign-in form carries a token",
             failing=RISK)
    return rows.rows


async def metrics_exposure(lab: Lab) -> list[Row]:
    rows, t = Rows("4.18"), await lab.target("main")
    reply = await lab.http.get(t.url + "/metrics")
    rows.add("/metrics without a token", "GET", reply, reply.excerpt(60), reply.status in (401, 403, 404),
             "behind a token or on a loopback port", failing=RISK)
    wrong = await lab.http.get(t.url + "/metrics", headers={"Authorization": "Bearer wrong-token"})
    rows.add("/metrics with a wrong token", "Bearer wrong", wrong, wrong.excerpt(60), wrong.status in (401, 403, 404),
             failing=RISK)
    right = await lab.http.get(t.url + "/metrics", headers={"Authorization": f"Bearer {signing.METRICS_TOKEN}"})
    rows.add("/metrics with the token (sanity)", "Bearer <token>", right, right.excerpt(60),
             right.status == 200 or reply.status == 404, "404 if served on another port")
    health = await lab.http.get(t.url + "/healthz")
    leaked = [p for p in (signing.user_id("whatsapp", 100), "session") if p in health.text]
    rows.add("/healthz, public", "GET", health, health.excerpt(80), health.status in (200, 503) and not leaked,
             "status and channels only")
    return rows.rows


# 5 privacy


def _scan(directory: Path, needles: Iterable[str], skip_logs: bool = False) -> dict[str, list[str]]:
    """Which files under ``directory`` hold each needle (raw bytes: SQLite's -wal and -shm too)."""
    found: dict[str, list[str]] = {}
    needles = list(needles)
    for path in sorted(directory.rglob("*")):
        if not path.is_file() or (skip_logs and path.suffix == ".log"):
            continue
        data = path.read_bytes()
        for needle in needles:
            if needle.encode() in data:
                found.setdefault(needle, []).append(path.name)
    return found


async def _one_of_each(lab: Lab, t: Target, tag: str) -> tuple[list[str], list[str]]:
    """A message from a new person on every channel; (their addresses, the texts' markers)."""
    addresses, markers = [], []
    for platform in signing.PLATFORMS:
        person = lab.person() + 9_000_000
        marker = lab.marker(f"{tag}-{platform}")
        hook = signing.webhook(platform, lab.number(), person, marker)
        await send(lab, t, hook.path, hook.body, hook.headers)
        addresses.append(signing.user_id(platform, person))
        markers.append(marker)
    chat = lab.webchat(t)
    session, _ = await chat.session()
    marker = lab.marker(f"{tag}-webchat")
    await chat.send(session or "", marker)
    addresses.append(session or "")
    markers.append(marker)
    lab.accepted.update(markers)
    await t.rasa.wait_for(markers, ARRIVAL_WAIT)
    await settle(1.0)  # replies out, logs written
    return [a for a in addresses if a], markers


async def identifiers_at_rest(lab: Lab) -> list[Row]:
    rows, t = Rows("5.1"), await lab.target("main")
    addresses, _ = await _one_of_each(lab, t, "privacy")
    found = _scan(t.site.var_dir, addresses)
    senders = {call.who for call in t.rasa.calls}
    at_rasa = [a for a in addresses if any(a in s for s in senders)]
    rows.add("addresses and web chat sessions in the logs and every database file (-wal, -shm too)",
             f"{len(addresses)} addresses", len(found), json.dumps(found)[:120] if found else "0 occurrences",
             not found, "only sealed or pseudonymised")
    rows.add("addresses that reached Rasa", f"{len(addresses)} addresses", len(at_rasa),
             "Rasa sees pseudonyms only" if not at_rasa else ", ".join(at_rasa)[:80], not at_rasa)
    return rows.rows


async def texts_in_logs(lab: Lab) -> list[Row]:
    rows, t = Rows("5.2"), await lab.target("main")
    _, markers = await _one_of_each(lab, t, "logtext")
    logs = {path.name: path.read_text(errors="replace") for path in t.site.logs()}
    found = {m: [name for name, text in logs.items() if m in text] for m in markers}
    found = {m: names for m, names in found.items() if names}
    rows.add("message texts in the gateway's log", f"{len(markers)} texts", len(found),
             json.dumps(found)[:120] if found else "0 occurrences", not found)
    return rows.rows


async def texts_at_rest(lab: Lab) -> list[Row]:
    rows, t = Rows("5.3"), await lab.target("main")
    alice = await lab.operator(t, "alice")
    case_marker = lab.marker("rest-case")
    case_id = await open_case(lab, t, alice, extra=case_marker)
    chat = lab.webchat(t)
    session, _ = await chat.session()
    reply_marker = lab.marker("rest-webchat")
    await chat.send(session or "", reply_marker)
    lab.accepted.add(reply_marker)
    await settle(1.0)
    found = _scan(t.site.var_dir, [case_marker, reply_marker], skip_logs=True)
    rows.add("an open case's transcript, at rest", f"case {case_id}", len(found.get(case_marker, [])),
             ", ".join(found.get(case_marker, [])) or "sealed", case_marker not in found,
             "sealed, or a documented reason", failing=RISK)
    rows.add("web chat replies in the mailbox, at rest", "echo of a web chat message",
             len(found.get(reply_marker, [])), ", ".join(found.get(reply_marker, [])) or "sealed",
             reply_marker not in found, "sealed like addresses", failing=RISK)
    return rows.rows


async def forget_after_case(lab: Lab) -> list[Row]:
    rows, t = Rows("5.4"), await lab.target("main")
    alice = await lab.operator(t, "alice")
    person = lab.person()
    marker = lab.marker("forget")
    hook = signing.webhook("whatsapp", lab.number(), person, f"HANDOFF {marker}")
    await send(lab, t, hook.path, hook.body, hook.headers)
    await t.rasa.wait_for([marker], ARRIVAL_WAIT)
    await settle(0.5)
    queue = (await alice.get("/console")).text
    forget = lab.marker("forget-me")
    hook = signing.webhook("whatsapp", lab.number(), person, f"FORGET {forget}")
    await send(lab, t, hook.path, hook.body, hook.headers)
    lab.accepted.update((marker, forget))
    await t.rasa.wait_for([forget], ARRIVAL_WAIT)
    await settle(1.5)
    found = _scan(t.site.var_dir, [marker], skip_logs=True)
    rows.add("'delete my data' after a case", "HANDOFF, then FORGET", len(found.get(marker, [])),
             (", ".join(found[marker]) if found else "0 bytes left") + f"; case was queued: {marker in queue}",
             not found, "nothing left in any database file")
    return rows.rows


async def file_permissions(lab: Lab) -> list[Row]:
    rows, t = Rows("5.5"), await lab.target("main")
    loose = {}
    for path in sorted(t.site.var_dir.iterdir()):
        if path.is_file() and path.suffix != ".log":
            mode = path.stat().st_mode & 0o777
            if mode & 0o077:
                loose[path.name] = oct(mode)
    rows.add("database files readable by others", "stat var/*", len(loose),
             json.dumps(loose) if loose else "all 0600", not loose, "created 0600", failing=RISK)
    return rows.rows


async def telegram_log_lines(lab: Lab) -> list[Row]:
    rows, t = Rows("5.6"), await lab.target("main")
    log = t.site.current.log
    for label, update in (("unknown update key of 5,000 characters",
                           {"update_id": 900_000_000 + lab.number(), "k" * 5000: {}}),
                          ("group chat whose chat.type has 5,000 characters",
                           {"update_id": 900_000_000 + lab.number(), "message": {
                               "message_id": 1, "date": 1, "text": "hi", "from": {"id": 5, "is_bot": False},
                               "chat": {"id": -5, "type": "g" * 5000}}})):
        offset = log.stat().st_size
        body = json.dumps(update).encode()
        reply = await send(lab, t, "/webhooks/telegram", body, signed("telegram", body))
        await settle(0.3)
        with log.open("rb") as handle:
            handle.seek(offset)
            longest = max((len(line) for line in handle.read().splitlines()), default=0)
        rows.add(f"telegram (signed): {label}", f"{len(body):,} bytes", reply, f"longest new log line {longest} chars",
                 longest < 1000, "strings from a webhook are capped in the log", failing=RISK)
    return rows.rows


# the backstop over every probe above


async def nothing_leaked(lab: Lab) -> list[Row]:
    rows = Rows("S.1")
    t = lab.targets.get("main")
    if t is None:
        return rows.rows
    await settle(1.0)
    leaked = sorted(m for m in lab.refused if t.rasa.count(m))
    rows.add("refused requests that reached Rasa", f"{len(lab.refused)} markers", len(leaked),
             ", ".join(leaked)[:100] or "none", not leaked)
    await t.rasa.wait_for(lab.accepted, 3.0)
    wrong = {m: t.rasa.count(m) for m in sorted(lab.accepted) if t.rasa.count(m) != 1}
    rows.add("accepted messages that reached Rasa other than once", f"{len(lab.accepted)} markers", len(wrong),
             json.dumps(wrong)[:100] if wrong else "every one exactly once", not wrong)
    return rows.rows


@dataclass(frozen=True)
class Probe:
    id: str
    section: str
    title: str
    run: Callable[[Lab], Awaitable[list[Row]]]


def _flood(name: str) -> Callable[[Lab], Awaitable[list[Row]]]:
    async def run(lab: Lab) -> list[Row]:
        from channels.abuse import load

        return await getattr(load, name)(lab)
    return run


PROBES: list[Probe] = [
    Probe("1.1", "auth", "WhatsApp/Messenger: signature missing, other key, cut, empty, sha1=, one digit, "
          "other body, body + 1 byte", meta_forgeries),
    Probe("1.2", "auth", "Meta: a valid signature written SHA256=<upper-case hex>", meta_case_changed),
    Probe("1.3", "auth", "Telegram: secret missing, empty, wrong, cut, upper-cased, one too long", telegram_secrets),
    Probe("1.4", "auth", "Twilio: signature missing, wrong, cut, swap-cased, other params, other or own URL, "
          "http, param or query added", twilio_forgeries),
    Probe("1.5", "auth", "Twilio: signed over host:443 (accepted); another AccountSid (refused)",
          twilio_port_and_account),
    Probe("1.6", "auth", "Viber: signature missing, wrong, cut, other body; upper-case hex", viber_signatures),
    Probe("1.7", "auth", "Replays on all 5 platforms and the web chat, a re-serialised Meta redelivery",
          replays),
    Probe("1.8", "auth", "Meta handshake: wrong, missing, prefix token; wrong hub.mode", handshake_refusals),
    Probe("1.9", "auth", "Meta handshake with the right token: <script> challenge, 300-char challenge",
          handshake_echo),
    Probe("1.10", "auth", "Auth headers holding a 0xFF byte (no credential needed)", non_utf8_auth_headers),
    Probe("2.1", "input", "Signed bodies: invalid JSON, not UTF-8, wrong shapes, empty; Twilio 301 fields, no "
          "MessageSid", signed_malformed),
    Probe("2.2", "input", "Deeply nested JSON, validly signed, 4 channels", deep_nesting_signed),
    Probe("2.3", "input", "Deeply nested JSON to the web chat (no credential needed)", deep_nesting_webchat),
    Probe("2.4", "input", "Bodies over the cap: 300 KB with Content-Length, 400 KB chunked", over_the_cap),
    Probe("2.5", "input", "gzip bombs on a webhook and the web chat, one at a time and four at once", gzip_bombs),
    Probe("2.6", "input", "Unicode: RTL override, zero-width, ZWJ emoji, astral, NUL, combining marks",
          unicode_intact),
    Probe("2.7", "input", "A lone surrogate (\\ud800) in a signed text or ID", lone_surrogates_signed),
    Probe("2.8", "input", "A lone surrogate in a web chat text (no credential needed)", lone_surrogate_webchat),
    Probe("2.9", "input", "WhatsApp: empty and whitespace-only text", blank_whatsapp),
    Probe("2.10", "input", "Telegram: empty and whitespace-only text", blank_telegram),
    Probe("2.11", "input", "Web chat: malformed requests of every kind", webchat_bad_requests),
    Probe("2.12", "input", "Web chat: a 100 KB text", webchat_large_text),
    Probe("2.13", "input", "Unknown channel; PUT on a webhook", unknown_routes),
    Probe("3.1", "webchat", "Web chat page headers", webchat_page_headers),
    Probe("3.2", "webchat", "Markup in web chat messages and the page's sinks", webchat_xss),
    Probe("3.3", "webchat", "CORS: a preflight and a mailbox read from another origin", webchat_cors),
    Probe("3.4", "webchat", "Cross-origin POSTs (evil, null, Sec-Fetch-Site, host-prefix trick)",
          webchat_cross_origin),
    Probe("3.5", "webchat", "Reading someone else's messages by guessing sessions", guessed_sessions),
    Probe("3.6", "webchat", "A weak session the client chose", weak_client_session),
    Probe("3.7", "webchat", "Rate limits: a burst from one session, from new sessions, polls", webchat_rate_limits),
    Probe("3.8", "flood", "A web chat flood from one address beside WhatsApp (Rasa at 22 msg/s)",
          _flood("webchat_flood")),
    Probe("3.9", "flood", "A web chat flood from many addresses beside WhatsApp (fairness)",
          _flood("webchat_flood_many")),
    Probe("4.1", "console", "Console pages and forms without signing in; a forged cookie", console_requires_login),
    Probe("4.2", "console", "Wrong password, unknown user (timing), reflected username", signin_refusals),
    Probe("4.3", "console", "Rapid wrong passwords for one account, then the right one", signin_throttling),
    Probe("4.4", "flood", "A sign-in flood beside WhatsApp (Rasa at 22 msg/s)", _flood("signin_flood")),
    Probe("4.5", "console", "CSRF on claim, reply, note, close, logout", console_csrf),
    Probe("4.6", "console", "A valid token from another site (Origin, Sec-Fetch-Site)", console_cross_site),
    Probe("4.7", "console", "Session cookie flags", cookie_flags),
    Probe("4.8", "console", "Session cookie flags with GATEWAY_PUBLIC_URL unset", cookie_without_public_url),
    Probe("4.9", "console", "Session fixation", session_fixation),
    Probe("4.10", "console", "Logout, and the old cookie afterwards", logout),
    Probe("4.11", "console", "Stored XSS in the console", console_xss),
    Probe("4.12", "console", "Another operator's claimed case; odd case ids", console_idor),
    Probe("4.13", "console", "Another operator reads and notes a claimed case", shared_queue),
    Probe("4.14", "console", "Open redirects", open_redirects),
    Probe("4.15", "console", "Security headers on console pages, errors and CSS", console_headers),
    Probe("4.16", "console", "Sign-in body not UTF-8, charset=bogus, odd cookies", console_bad_bytes),
    Probe("4.17", "console", "Login CSRF: a sign-in without the form's token", login_csrf),
    Probe("4.18", "console", "/metrics and /healthz on the public port", metrics_exposure),
    Probe("5.1", "privacy", "Addresses and sessions in the logs and database files", identifiers_at_rest),
    Probe("5.2", "privacy", "Message texts in the logs", texts_in_logs),
    Probe("5.3", "privacy", "Message texts at rest (case transcripts, web chat mailbox)", texts_at_rest),
    Probe("5.4", "privacy", "'Delete my data' after a case leaves nothing on disk", forget_after_case),
    Probe("5.5", "privacy", "Database file permissions", file_permissions),
    Probe("5.6", "privacy", "Telegram strings in the log are capped", telegram_log_lines),
    Probe("S.1", "summary", "Refused requests never reached Rasa; accepted ones reached it once", nothing_leaked),
]


def parse_only(value: str) -> set[str]:
    return {part.strip() for part in value.split(",") if part.strip()}


def selected(only: set[str] | None) -> list[Probe]:
    """The probes a ``--only`` names (sections or ids); every probe when None."""
    if not only:
        return list(PROBES)
    chosen = [p for p in PROBES if p.section in only or p.id in only]
    if chosen and "summary" not in only:
        chosen.append(PROBES[-1])
    return [p for i, p in enumerate(chosen) if p not in chosen[:i]]

