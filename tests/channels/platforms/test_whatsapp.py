"""WhatsApp Cloud API: recorded webhooks through the real gateway, replies against a fake Graph API."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging

import aiohttp
import pytest

from channels.base import WebhookRequest
from channels.errors import ConfigError, Rejected
from channels.keys import Secret
from channels.models import Button, Outbound
from channels.platforms.meta import SIGNATURE_HEADER
from channels.platforms.whatsapp import (
    LIST_LABEL,
    MAX_BUTTON_BODY,
    MAX_BUTTON_TITLE,
    MAX_LIST_ROWS,
    MAX_ROW_DESCRIPTION,
    MAX_ROW_TITLE,
    MAX_TEXT,
    WhatsApp,
    WhatsAppSettings,
)
from tests.channels.conftest import (
    Case,
    answer_once,
    assert_not_logged,
    fuzz,
    payload,
    reply_outcomes,
    run_cases,
    send_raw,
    settle,
)
from tests.channels.platforms.hostile import DEEP_ARRAY, DEEP_OBJECT, LONE_SURROGATE, parse_failures, with_raw

APP_SECRET = "9f8e7d6c5b4a39281706f5e4d3c2b1a0"
VERIFY_TOKEN = "wa-verify-token-for-tests-7Qx2"
ACCESS_TOKEN = "EAAGtestWhatsAppAccessToken0123456789abcdefZZ"
PATH = "/webhooks/whatsapp"
USER = "9779812345678"
PHONE_NUMBER_ID = "106540352242922"
OTHER_NUMBER_ID = "106540352242923"


def env(api_url: str) -> dict[str, str]:
    return {"WHATSAPP_APP_SECRET": APP_SECRET, "WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN,
            "WHATSAPP_ACCESS_TOKEN": ACCESS_TOKEN, "WHATSAPP_API_BASE": api_url}


def signature(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def sign(body: bytes, how: str) -> dict[str, str]:
    return {"valid": {SIGNATURE_HEADER: signature(body)}, "missing": {},
            "forged": {SIGNATURE_HEADER: signature(body, APP_SECRET[:-1] + "1")}}[how]


def channel(**overrides: str) -> WhatsApp:
    return WhatsApp(WhatsAppSettings(Secret(APP_SECRET), Secret(VERIFY_TOKEN), Secret(ACCESS_TOKEN), **overrides))


def changed(name: str) -> bytes:
    """A recorded body with a new message ID, so that a wrongly accepted request is not a redelivery."""
    return payload("whatsapp", name).replace(b"0001AA==", b"0099AA==")


def outbound(text: str, buttons: tuple[Button, ...] = ()) -> Outbound:
    return Outbound("whatsapp", USER, text, buttons, {"phone_number_id": PHONE_NUMBER_ID})


NEPALI = "मेरो मालिकले मेरो राहदानी लिएको छ"
# where a recorded text.json keeps the message's text and its sender
TEXT_BODY = ("entry", 0, "changes", 0, "value", "messages", 0, "text", "body")
SENDER = ("entry", 0, "changes", 0, "value", "messages", 0, "from")
CASES = [
    Case("text message", payload("whatsapp", "text.json"), forwarded=(NEPALI,)),
    Case("redelivered text is not answered twice", payload("whatsapp", "text.json")),
    Case("a second message from the same person", payload("whatsapp", "text_followup.json"),
         forwarded=("के यो कानुनी हो?",)),
    Case("reply button", payload("whatsapp", "button_reply.json"), forwarded=("/affirm",)),
    Case("list choice", payload("whatsapp", "list_reply.json"), forwarded=('/choose_language{"language":"ne"}',)),
    Case("template quick-reply button", payload("whatsapp", "template_button.json"), forwarded=("/greet",)),
    Case("image", payload("whatsapp", "image.json"), forwarded=("/media_received",)),
    Case("voice note", payload("whatsapp", "voice.json"), forwarded=("/media_received",)),
    Case("location", payload("whatsapp", "location.json"), forwarded=("/media_received",)),
    Case("batch: every entry, change and message", payload("whatsapp", "batch.json"),
         forwarded=("I have not been paid for three months", "/media_received", "Can they deport me?")),
    Case("delivery and read statuses ignored", payload("whatsapp", "status.json")),
    Case("reaction ignored", payload("whatsapp", "reaction.json")),
    Case("unsupported message ignored", payload("whatsapp", "unsupported.json")),
    Case("other webhook field ignored", payload("whatsapp", "account_update.json")),
    Case("missing signature", changed("text.json"), status=401, signature="missing"),
    Case("forged signature", changed("text.json"), status=403, signature="forged"),
    Case("invalid JSON", b'{"object": "whatsapp_business_account", "entry": [', status=400),
    Case("deeply nested JSON", DEEP_ARRAY, status=400),
    Case("deeply nested object in a field", with_raw(payload("whatsapp", "text.json"), TEXT_BODY, DEEP_OBJECT),
         status=400),
    Case("lone surrogate in the text", with_raw(payload("whatsapp", "text.json"), TEXT_BODY, LONE_SURROGATE),
         status=400),
    Case("lone surrogate in from", with_raw(payload("whatsapp", "text.json"), SENDER, LONE_SURROGATE),
         status=400),
    Case("not a WhatsApp webhook", payload("whatsapp", "wrong_object.json"), status=400),
    Case("messages without phone_number_id", payload("whatsapp", "no_phone_number_id.json"), status=400),
    Case("message without from", payload("whatsapp", "no_from.json"), status=400),
]


async def test_webhook_cases(started, fake_api, fake_rasa, caplog) -> None:
    client = await started(env(fake_api.url))
    await run_cases(client, PATH, CASES, sign, fake_rasa, caplog)
    senders = {item["sender"] for item in fake_rasa.received}
    assert len(senders) == 1 and USER not in next(iter(senders)), "the sender must be pseudonymous"
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for reason in ("status delivered", "status read", "message type reaction", "field account_update"):
        assert reason in logged, f"no logged reason {reason!r}"
    assert_not_logged(caplog, APP_SECRET, VERIFY_TOKEN, ACCESS_TOKEN, USER, "राहदानी", "three months", "deport")


async def test_reply_reaches_the_graph_api_exactly(started, fake_api, fake_rasa) -> None:
    client = await started(env(fake_api.url))
    body = payload("whatsapp", "text.json")
    response = await client.post(PATH, data=body, headers=sign(body, "valid"))
    assert response.status == 200
    (request,) = await fake_api.wait_for(1)
    assert request.path == f"/{PHONE_NUMBER_ID}/messages", "the token goes in a header, never in the URL"
    assert request.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert request.json() == {
        "messaging_product": "whatsapp", "recipient_type": "individual", "to": USER, "type": "interactive",
        "interactive": {"type": "button", "body": {"text": "reply 1"}, "action": {"buttons": [
            {"type": "reply", "reply": {"id": "/affirm", "title": "Yes"}},
            {"type": "reply", "reply": {"id": "/deny", "title": "No"}},
        ]}},
    }


async def test_replies_leave_from_the_number_that_was_written_to(started, fake_api, fake_rasa) -> None:
    client = await started(env(fake_api.url))
    body = payload("whatsapp", "batch.json")
    await client.post(PATH, data=body, headers=sign(body, "valid"))
    requests = await fake_api.wait_for(3)
    paths = sorted(r.path for r in requests)
    assert paths == sorted([f"/{PHONE_NUMBER_ID}/messages"] * 2 + [f"/{OTHER_NUMBER_ID}/messages"])


async def test_handshake(started, fake_api, fake_rasa, caplog) -> None:
    caplog.set_level(logging.INFO)
    client = await started(env(fake_api.url))
    query = {"hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": VERIFY_TOKEN}
    response = await client.get(PATH, params=query)
    assert response.status == 200 and response.content_type == "text/plain"
    assert await response.text() == "1158201444"
    for wrong in ({**query, "hub.verify_token": VERIFY_TOKEN + "x"}, {**query, "hub.verify_token": ""},
                  {k: v for k, v in query.items() if k != "hub.verify_token"}, {**query, "hub.mode": "unsubscribe"}):
        response = await client.get(PATH, params=wrong)
        assert response.status == 403, wrong
        assert "1158201444" not in await response.text()
    response = await client.get(PATH, params={k: v for k, v in query.items() if k != "hub.challenge"})
    assert response.status == 400
    events = [json.loads(r.getMessage()) for r in caplog.records if r.name == "channels"]
    access = [e for e in events if e["event"] == "http" and e["path"] == PATH]
    assert len(access) == 6, "every handshake request is in the access log..."
    assert_not_logged(caplog, VERIFY_TOKEN, "hub.verify_token=")  # ...without its query string


@pytest.mark.parametrize(("query", "status"), [
    ("hub.mode=subscribe&hub.challenge=1&hub.verify_token=%FF%FE", 403),  # not UTF-8 once decoded
    ("hub.mode=subscribe&hub.challenge=1&hub.verify_token=%ED%A0%80", 403),  # an encoded lone surrogate
    ("hub.mode=%FF&hub.challenge=1&hub.verify_token=" + VERIFY_TOKEN, 403),
    ("hub.mode=subscribe&hub.challenge=1&hub.verify_token=\udcff", 400),  # a raw 0xFF byte: the parser refuses
])
async def test_handshake_with_odd_bytes_is_refused(started, fake_api, caplog, query, status) -> None:
    caplog.set_level(logging.INFO)
    client = await started(env(fake_api.url))
    assert (await send_raw(client, "GET", f"{PATH}?{query}", {}))[0] == status
    assert "Traceback" not in caplog.text
    assert_not_logged(caplog, VERIFY_TOKEN)


async def _answer_once(started, api, rasa, caplog, answer) -> list:  # type: ignore[no-untyped-def]
    body = payload("whatsapp", "text.json")
    return await answer_once(started, env(api.url), PATH, body, sign(body, "valid"), api, caplog, answer)


async def test_429_waits_for_retry_after(started, fake_api, fake_rasa) -> None:
    fake_api.script = [(429, {"Retry-After": "2"}, {"error": {"code": 130429, "type": "OAuthException"}})]
    client = await started(env(fake_api.url))
    body = payload("whatsapp", "text.json")
    await client.post(PATH, data=body, headers=sign(body, "valid"))
    await fake_api.wait_for(1)
    loop = asyncio.get_running_loop()
    first = loop.time()
    second = (await fake_api.wait_for(2, timeout=10))[1]
    assert loop.time() - first >= 1.5, "waited for Retry-After (2 s), not the 1 s default backoff"
    assert second.body == fake_api.requests[0].body


async def test_rate_limit_as_http_400_is_retried(started, fake_api, fake_rasa, caplog) -> None:
    limited = {"error": {"message": "(#130429) Rate limit hit", "type": "OAuthException", "code": 130429,
                         "fbtrace_id": "AbCdEfGh123"}}
    requests = await _answer_once(started, fake_api, fake_rasa, caplog, (400, {}, limited))
    assert len(requests) == 2 and requests[0].body == requests[1].body
    assert reply_outcomes(caplog) == [("reply_retry", "HTTP 400 graph error 130429"), ("reply_sent", None)]


async def test_outside_the_window_is_dropped_without_retry(started, fake_api, fake_rasa, caplog) -> None:
    late = {"error": {"message": f"(#131047) Re-engagement message to {USER}", "type": "OAuthException",
                      "code": 131047, "fbtrace_id": "AbCdEfGh124"}}
    requests = await _answer_once(started, fake_api, fake_rasa, caplog, (400, {}, late))
    await asyncio.sleep(1.2)  # longer than the first backoff: a wrong retry would have happened by now
    assert len(requests) == 1
    assert reply_outcomes(caplog) == [("reply_dropped", "HTTP 400 graph error 131047")]
    assert_not_logged(caplog, USER)


@pytest.mark.parametrize(("status", "headers", "body", "ok", "retry_after", "reason"), [
    (200, {}, {"messaging_product": "whatsapp", "messages": [{"id": "wamid.X"}]}, True, None, ""),
    (429, {"Retry-After": "7"}, {}, False, 7.0, "HTTP 429"),
    (503, {}, {}, False, 0.0, "HTTP 503"),
    (400, {}, {"error": {"code": 4}}, False, 0.0, "HTTP 400 graph error 4"),
    (400, {}, {"error": {"code": 80007}}, False, 0.0, "HTTP 400 graph error 80007"),
    (400, {}, {"error": {"code": 130429}}, False, 0.0, "HTTP 400 graph error 130429"),
    (400, {}, {"error": {"code": 131056}}, False, 0.0, "HTTP 400 graph error 131056"),
    (400, {}, {"error": {"code": 1, "is_transient": True}}, False, 0.0, "HTTP 400 graph error 1"),
    (400, {}, {"error": {"code": 100, "error_subcode": 33}}, False, None, "HTTP 400 graph error 100/33"),
    (401, {}, {"error": {"code": 190}}, False, None, "HTTP 401 graph error 190"),
    (400, {}, "not an object", False, None, "HTTP 400"),
])
async def test_send_outcomes(fake_api, status, headers, body, ok, retry_after, reason) -> None:
    fake_api.script = [(status, headers, body)]
    wa = channel(api_base=fake_api.url)
    async with aiohttp.ClientSession() as session:
        result = await wa.send(session, wa.render(outbound("hi"))[0])
    assert (result.ok, result.retry_after, result.reason) == (ok, retry_after, reason)
    (request,) = fake_api.requests
    assert request.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}" and ACCESS_TOKEN not in request.path


def test_parse_is_pure_and_exact() -> None:
    parsed = channel().parse(WebhookRequest("POST", "http://x" + PATH, {}, payload("whatsapp", "list_reply.json")))
    (message,) = parsed.messages
    assert (message.kind, message.user_id, message.text) == ("button", USER, '/choose_language{"language":"ne"}')
    assert message.message_id.startswith("wamid.") and message.reply_to == {"phone_number_id": PHONE_NUMBER_ID}
    ignored = channel().parse(WebhookRequest("POST", "http://x" + PATH, {}, payload("whatsapp", "status.json")))
    assert (ignored.messages, ignored.ignored) == ([], ["status delivered", "status read"])


def test_signature_is_over_the_raw_body() -> None:
    body = payload("whatsapp", "text.json")
    reformatted = json.dumps(json.loads(body), ensure_ascii=False).encode()
    assert reformatted != body
    with pytest.raises(Rejected) as exc:
        channel().verify(WebhookRequest("POST", "http://x" + PATH, sign(body, "valid"), reformatted))
    assert exc.value.status == 403
    channel().verify(WebhookRequest("POST", "http://x" + PATH, sign(reformatted, "valid"), reformatted))
    for header in ("sha1=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha1).hexdigest(),
                   signature(body).removeprefix("sha256="), "sha256=", "sha256=" + "é" * 64):
        with pytest.raises(Rejected) as exc:
            channel().verify(WebhookRequest("POST", "http://x" + PATH, {SIGNATURE_HEADER: header}, body))
        assert exc.value.status == 403, header


def _interactive(calls: list) -> dict:  # type: ignore[type-arg]
    assert calls[-1].json["type"] == "interactive"
    return calls[-1].json["interactive"]


def test_up_to_three_buttons_are_reply_buttons_with_short_titles() -> None:
    buttons = (Button("Yes, my employer keeps it", "/affirm"), Button("No", "/deny"), Button("Not sure", "/unsure"))
    (call,) = channel().render(outbound("Does your employer keep your passport?", buttons))
    assert call.path == f"{PHONE_NUMBER_ID}/messages"
    replies = [b["reply"] for b in call.json["interactive"]["action"]["buttons"]]
    assert [r["id"] for r in replies] == ["/affirm", "/deny", "/unsure"]
    assert replies[0]["title"] == "Yes, my employer ke…" and len(replies[0]["title"]) == MAX_BUTTON_TITLE
    assert [r["title"] for r in replies[1:]] == ["No", "Not sure"]


def test_four_to_ten_buttons_become_a_list() -> None:
    buttons = tuple(Button(title, f"/topic_{i}") for i, title in
                    enumerate(["Wages", "Passport", "Recruitment fees and debts", "Housing", "Health"]))
    (call,) = channel().render(outbound("What is it about?", buttons))
    assert call.json == {
        "messaging_product": "whatsapp", "recipient_type": "individual", "to": USER, "type": "interactive",
        "interactive": {"type": "list", "body": {"text": "What is it about?"}, "action": {
            "button": LIST_LABEL, "sections": [{"title": LIST_LABEL, "rows": [
                {"id": "/topic_0", "title": "Wages"},
                {"id": "/topic_1", "title": "Passport"},
                {"id": "/topic_2", "title": "Recruitment fees and de…",
                 "description": "Recruitment fees and debts"},
                {"id": "/topic_3", "title": "Housing"},
                {"id": "/topic_4", "title": "Health"},
            ]}]}},
    }
    assert len(call.json["interactive"]["action"]["sections"][0]["rows"][2]["title"]) == MAX_ROW_TITLE


def test_more_than_ten_buttons_keep_the_first_ten() -> None:
    buttons = tuple(Button(f"Option {i} " + "x" * 100, f"/option_{i}") for i in range(14))
    rows = _interactive(channel().render(outbound("Choose", buttons)))["action"]["sections"][0]["rows"]
    assert [r["id"] for r in rows] == [f"/option_{i}" for i in range(MAX_LIST_ROWS)]
    assert all(len(r["title"]) <= MAX_ROW_TITLE and r["title"].endswith("…") for r in rows)
    assert all(len(r["description"]) <= MAX_ROW_DESCRIPTION for r in rows)


def test_titles_cut_to_the_same_text_stay_unique() -> None:
    buttons = (Button("Call the labour office in Doha", "/call_doha"),
               Button("Call the labour office in Dubai", "/call_dubai"))
    replies = _interactive(channel().render(outbound("Next?", buttons)))["action"]["buttons"]
    assert [b["reply"]["title"] for b in replies] == ["Call the labour off…", "Call the labour o… 2"]
    assert all(len(b["reply"]["title"]) <= MAX_BUTTON_TITLE for b in replies)


def test_unusable_and_repeated_payloads_are_dropped() -> None:
    too_long = "/ask" + json.dumps({"q": "x" * 300})
    buttons = (Button("A", too_long), Button("B", "/b"), Button("C", "/c"), Button("B again", "/b"))
    replies = _interactive(channel().render(outbound("hi", buttons)))["action"]["buttons"]
    assert [(b["reply"]["id"], b["reply"]["title"]) for b in replies] == [("/b", "B"), ("/c", "C")]


def test_long_text_is_split_cleanly() -> None:
    sentence = "Article 21 says that only an authorised official may confiscate your passport. "
    text = sentence * 120
    calls = channel().render(outbound(text))
    assert len(calls) == 3
    texts = [call.json["text"]["body"] for call in calls]
    assert all(len(t) <= MAX_TEXT for t in texts)
    assert " ".join(texts) == text.strip()
    assert all(t.endswith(".") for t in texts), "split at sentence ends"


def test_text_too_long_for_a_button_body_goes_first() -> None:
    paragraphs = [f"Paragraph {i}. " + "You have the right to keep your own passport. " * 8 for i in range(6)]
    text = "\n\n".join(p.strip() for p in paragraphs)
    assert len(text) > MAX_BUTTON_BODY
    calls = channel().render(outbound(text, (Button("Yes", "/affirm"), Button("No", "/deny"))))
    assert [c.json["type"] for c in calls] == ["text", "interactive"]
    body = calls[-1].json["interactive"]["body"]["text"]
    assert len(body) <= MAX_BUTTON_BODY
    assert body == "\n\n".join(p.strip() for p in paragraphs[-2:]), "as many whole paragraphs as fit"
    assert calls[0].json["text"]["body"] + "\n\n" + body == text, "nothing lost, nothing repeated"


def test_buttons_without_text_and_empty_replies() -> None:
    (call,) = channel().render(outbound("", (Button("Yes", "/affirm"),)))
    assert call.json["interactive"]["body"]["text"]
    assert channel().render(outbound("  ")) == []


def test_a_reply_without_a_business_number_is_not_sent(caplog) -> None:
    caplog.set_level(logging.INFO)
    assert channel().render(Outbound("whatsapp", USER, "hi")) == []
    assert "reply_unroutable" in caplog.text


def test_a_field_of_another_type_is_refused_or_ignored() -> None:
    assert parse_failures(channel()) == []


@pytest.mark.parametrize("seed", [1, 2])
async def test_fuzz(started, fake_api, fake_rasa, seed) -> None:
    client = await started(env(fake_api.url))
    await fuzz(client, PATH, sign, fake_rasa, seed)
    await settle(client)
    assert fake_api.requests == []


def test_an_urdu_answer_is_cut_at_its_full_stop() -> None:
    sentence = "آپ کو اپنا پاسپورٹ اپنے پاس رکھنے کا حق ہے۔"  # ends with the Urdu full stop
    text = " ".join([sentence] * 40)
    assert len(text) > MAX_BUTTON_BODY
    calls = channel().render(outbound(text, (Button("ہاں", "/affirm"), Button("نہیں", "/deny"))))
    head, body = calls[0].json["text"]["body"], calls[-1].json["interactive"]["body"]["text"]
    assert len(body) <= MAX_BUTTON_BODY
    assert head.endswith("۔") and body.startswith(sentence), "cut between two sentences, not inside one"
    assert f"{head} {body}" == text


def test_settings_come_from_its_own_variables() -> None:
    assert WhatsAppSettings.from_env({"TELEGRAM_BOT_TOKEN": "x"}) is None
    with pytest.raises(ConfigError, match="set WHATSAPP_VERIFY_TOKEN, WHATSAPP_ACCESS_TOKEN"):
        WhatsAppSettings.from_env({"WHATSAPP_APP_SECRET": APP_SECRET})
    settings = WhatsAppSettings.from_env({k: v for k, v in env("x").items() if k != "WHATSAPP_API_BASE"})
    assert settings is not None and settings.api_base == "https://graph.facebook.com/v19.0"
    assert ACCESS_TOKEN not in repr(settings) and APP_SECRET not in repr(settings)
