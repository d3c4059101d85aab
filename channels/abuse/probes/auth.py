"""Section 1 of the report: signatures, secrets, replays and Meta's handshake."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from channels.abuse import signing
from channels.abuse.client import Reply, raw, raw_post
from channels.abuse.fakes import HOST
from channels.abuse.lab import Lab
from channels.abuse.probes.common import (
    XSS,
    Rows,
    reached_once,
    refused_rows,
    send,
)
from channels.abuse.report import Row
from channels.abuse.signing import JSON, PUBLIC_URL, message_body, signed


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
