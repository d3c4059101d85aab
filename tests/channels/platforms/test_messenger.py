"""Messenger: recorded Page webhooks through the real gateway, replies against a fake Send API."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging

import aiohttp
import pytest

from channels.base import WebhookRequest
from channels.errors import ConfigError
from channels.keys import Secret
from channels.models import Button, Outbound
from channels.platforms.messenger import (
    MAX_PAYLOAD,
    MAX_QUICK_REPLIES,
    MAX_QUICK_REPLY_TITLE,
    MAX_TEXT,
    Messenger,
    MessengerSettings,
)
from channels.platforms.meta import SIGNATURE_HEADER
from tests.channels.conftest import (
    Case,
    answer_once,
    assert_not_logged,
    fuzz,
    payload,
    reply_outcomes,
    run_cases,
    settle,
)
from tests.channels.platforms.hostile import DEEP_ARRAY, DEEP_OBJECT, LONE_SURROGATE, parse_failures, with_raw

APP_SECRET = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
VERIFY_TOKEN = "fb-verify-token-for-tests-Lm8w"
PAGE_TOKEN = "EAAPtestMessengerPageToken9876543210fedcbaQQ"
PATH = "/webhooks/messenger"
USER = "6372819405512345"
OK = {"recipient_id": USER, "message_id": "m_reply"}


def env(api_url: str) -> dict[str, str]:
    return {"MESSENGER_APP_SECRET": APP_SECRET, "MESSENGER_VERIFY_TOKEN": VERIFY_TOKEN,
            "MESSENGER_PAGE_TOKEN": PAGE_TOKEN, "MESSENGER_API_BASE": api_url}


def signature(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def sign(body: bytes, how: str) -> dict[str, str]:
    return {"valid": {SIGNATURE_HEADER: signature(body)}, "missing": {},
            "forged": {SIGNATURE_HEADER: signature(body, APP_SECRET[:-1] + "0")}}[how]


def channel(**overrides: str) -> Messenger:
    return Messenger(MessengerSettings(Secret(APP_SECRET), Secret(VERIFY_TOKEN), Secret(PAGE_TOKEN), **overrides))


def changed(name: str) -> bytes:
    """A recorded body with a new mid, so that a wrongly accepted request is not a redelivery."""
    return payload("messenger", name).replace(b"001xA9", b"099xA9")


@pytest.fixture
def send_api(fake_api):  # type: ignore[no-untyped-def]
    fake_api.default_body = OK
    return fake_api


# where a recorded text.json keeps the message's text
TEXT_BODY = ("entry", 0, "messaging", 0, "message", "text")
CASES = [
    Case("text message", payload("messenger", "text.json"), forwarded=("Kinuha ng amo ko ang pasaporte ko",)),
    Case("redelivered text is not answered twice", payload("messenger", "text.json")),
    Case("a second message from the same person", payload("messenger", "text_followup.json"),
         forwarded=("Legal ba iyon?",)),
    Case("quick reply", payload("messenger", "quick_reply.json"), forwarded=("/affirm",)),
    Case("postback", payload("messenger", "postback.json"), forwarded=("/greet",)),
    Case("postback without mid", payload("messenger", "postback_no_mid.json"),
         forwarded=('/choose_language{"language":"tl"}',)),
    Case("postback without mid, redelivered", payload("messenger", "postback_no_mid.json")),
    Case("image", payload("messenger", "image.json"), forwarded=("/media_received",)),
    Case("voice clip", payload("messenger", "audio.json"), forwarded=("/media_received",)),
    Case("batch: every entry and event", payload("messenger", "batch.json"),
         forwarded=("Hindi ako binayaran ng tatlong buwan", "/media_received", "/affirm")),
    Case("echo of our own reply ignored", payload("messenger", "echo.json")),
    Case("delivery ignored", payload("messenger", "delivery.json")),
    Case("read ignored", payload("messenger", "read.json")),
    Case("reaction ignored", payload("messenger", "reaction.json")),
    Case("standby ignored", payload("messenger", "standby.json")),
    Case("missing signature", changed("text.json"), status=401, signature="missing"),
    Case("forged signature", changed("text.json"), status=403, signature="forged"),
    Case("invalid JSON", b'{"object": "page", "entry": [{"messaging": ', status=400),
    Case("deeply nested JSON", DEEP_ARRAY, status=400),
    Case("deeply nested object in a field", with_raw(payload("messenger", "text.json"), TEXT_BODY, DEEP_OBJECT),
         status=400),
    Case("lone surrogate in the text", with_raw(payload("messenger", "text.json"), TEXT_BODY, LONE_SURROGATE),
         status=400),
    Case("not a Page webhook", payload("messenger", "wrong_object.json"), status=400),
    Case("message without mid", payload("messenger", "no_mid.json"), status=400),
    Case("message without sender", payload("messenger", "no_sender.json"), status=400),
]


async def test_webhook_cases(started, send_api, fake_rasa, caplog) -> None:
    client = await started(env(send_api.url))
    await run_cases(client, PATH, CASES, sign, fake_rasa, caplog)
    senders = {item["sender"] for item in fake_rasa.received}
    assert len(senders) == 1 and USER not in next(iter(senders)), "the sender must be pseudonymous"
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for reason in ("echo of a message the Page sent", "event delivery", "event read", "event reaction",
                   "standby event"):
        assert reason in logged, f"no logged reason {reason!r}"
    assert_not_logged(caplog, APP_SECRET, VERIFY_TOKEN, PAGE_TOKEN, USER, "pasaporte", "binayaran")


async def test_reply_reaches_the_send_api_exactly(started, send_api, fake_rasa) -> None:
    client = await started(env(send_api.url))
    body = payload("messenger", "text.json")
    response = await client.post(PATH, data=body, headers=sign(body, "valid"))
    assert response.status == 200
    (request,) = await send_api.wait_for(1)
    assert request.path == "/me/messages", "the token goes in a header, never in the URL"
    assert request.headers["Authorization"] == f"Bearer {PAGE_TOKEN}"
    assert request.json() == {
        "recipient": {"id": USER}, "messaging_type": "RESPONSE",
        "message": {"text": "reply 1", "quick_replies": [
            {"content_type": "text", "title": "Yes", "payload": "/affirm"},
            {"content_type": "text", "title": "No", "payload": "/deny"},
        ]},
    }


async def test_handshake(started, send_api, fake_rasa, caplog) -> None:
    caplog.set_level(logging.INFO)
    client = await started(env(send_api.url))
    query = {"hub.mode": "subscribe", "hub.challenge": "2093481177", "hub.verify_token": VERIFY_TOKEN}
    response = await client.get(PATH, params=query)
    assert (response.status, await response.text()) == (200, "2093481177")
    assert response.content_type == "text/plain"
    without_token = {k: v for k, v in query.items() if k != "hub.verify_token"}
    for wrong in ({**query, "hub.verify_token": VERIFY_TOKEN[:-1]}, without_token):
        response = await client.get(PATH, params=wrong)
        assert response.status == 403
    events = [json.loads(r.getMessage()) for r in caplog.records if r.name == "channels"]
    assert [e["status"] for e in events if e["event"] == "http" and e["path"] == PATH] == [200, 403, 403]
    assert_not_logged(caplog, VERIFY_TOKEN, "hub.verify_token=")


async def _answer_once(started, api, rasa, caplog, answer) -> list:  # type: ignore[no-untyped-def]
    body = payload("messenger", "text.json")
    return await answer_once(started, env(api.url), PATH, body, sign(body, "valid"), api, caplog, answer)


async def test_429_waits_for_retry_after(started, send_api, fake_rasa) -> None:
    send_api.script = [(429, {"Retry-After": "2"}, {"error": {"code": 613, "type": "OAuthException"}})]
    client = await started(env(send_api.url))
    body = payload("messenger", "text.json")
    await client.post(PATH, data=body, headers=sign(body, "valid"))
    await send_api.wait_for(1)
    loop = asyncio.get_running_loop()
    first = loop.time()
    second = (await send_api.wait_for(2, timeout=10))[1]
    assert loop.time() - first >= 1.5, "waited for Retry-After (2 s), not the 1 s default backoff"
    assert second.body == send_api.requests[0].body


async def test_rate_limit_as_http_400_is_retried(started, send_api, fake_rasa, caplog) -> None:
    limited = {"error": {"message": "(#613) Calls to this api have exceeded the rate limit.",
                         "type": "OAuthException", "code": 613, "fbtrace_id": "Xy12Ab34"}}
    requests = await _answer_once(started, send_api, fake_rasa, caplog, (400, {}, limited))
    assert len(requests) == 2 and requests[0].body == requests[1].body
    assert reply_outcomes(caplog) == [("reply_retry", "HTTP 400 graph error 613"), ("reply_sent", None)]


async def test_outside_the_window_is_dropped_without_retry(started, send_api, fake_rasa, caplog) -> None:
    late = {"error": {"message": "(#10) This message is sent outside of allowed window.", "type": "OAuthException",
                      "code": 10, "error_subcode": 2018278, "fbtrace_id": "Xy12Ab35"}}
    requests = await _answer_once(started, send_api, fake_rasa, caplog, (400, {}, late))
    await asyncio.sleep(1.2)  # longer than the first backoff: a wrong retry would have happened by now
    assert len(requests) == 1
    assert reply_outcomes(caplog) == [("reply_dropped", "HTTP 400 graph error 10/2018278")]


@pytest.mark.parametrize(("status", "body", "ok", "retry_after", "reason"), [
    (200, OK, True, None, ""),
    (400, {"error": {"code": 4}}, False, 0.0, "HTTP 400 graph error 4"),
    (400, {"error": {"code": 1200}}, False, 0.0, "HTTP 400 graph error 1200"),
    (400, {"error": {"code": 551, "error_subcode": 1545041}}, False, None, "HTTP 400 graph error 551/1545041"),
    (500, {"error": {"code": 2}}, False, 0.0, "HTTP 500 graph error 2"),
])
async def test_send_outcomes(send_api, status, body, ok, retry_after, reason) -> None:
    send_api.script = [(status, {}, body)]
    messenger = channel(api_base=send_api.url)
    async with aiohttp.ClientSession() as session:
        result = await messenger.send(session, messenger.render(Outbound("messenger", USER, "hi"))[0])
    assert (result.ok, result.retry_after, result.reason) == (ok, retry_after, reason)
    (request,) = send_api.requests
    assert request.headers["Authorization"] == f"Bearer {PAGE_TOKEN}" and PAGE_TOKEN not in request.path


def test_parse_is_pure_and_exact() -> None:
    request = WebhookRequest("POST", "http://x" + PATH, {}, payload("messenger", "postback_no_mid.json"))
    (message,) = channel().parse(request).messages
    assert (message.kind, message.user_id, message.text) == ("button", USER, '/choose_language{"language":"tl"}')
    assert message.message_id == f"postback:{USER}:1764000005000"
    batch = channel().parse(WebhookRequest("POST", "http://x" + PATH, {}, payload("messenger", "batch.json")))
    assert [m.kind for m in batch.messages] == ["text", "media", "button"] and batch.ignored == ["event read"]


def test_quick_replies_fit_the_limits() -> None:
    buttons = tuple(Button(f"Option {i} " + "x" * 30, f"/option_{i}") for i in range(16))
    (call,) = channel().render(Outbound("messenger", USER, "Choose", buttons))
    replies = call.json["message"]["quick_replies"]
    assert [r["payload"] for r in replies] == [f"/option_{i}" for i in range(MAX_QUICK_REPLIES)]
    assert replies[0]["title"] == "Option 0 xxxxxxxxxx…"
    assert all(len(r["title"]) == MAX_QUICK_REPLY_TITLE for r in replies)


def test_payload_too_long_is_dropped() -> None:
    too_long = "/ask" + json.dumps({"q": "x" * MAX_PAYLOAD})
    (call,) = channel().render(Outbound("messenger", USER, "hi", (Button("A", too_long), Button("B", "/b"))))
    assert call.json["message"]["quick_replies"] == [{"content_type": "text", "title": "B", "payload": "/b"}]


def test_long_text_is_split_and_quick_replies_stay_on_the_last_part() -> None:
    sentence = "Article 21 says that only an authorised official may confiscate your passport. "
    text = sentence * 60
    calls = channel().render(Outbound("messenger", USER, text, (Button("Yes", "/affirm"),)))
    assert len(calls) == 3 and all(c.path == "me/messages" for c in calls)
    texts = [call.json["message"]["text"] for call in calls]
    assert all(len(t) <= MAX_TEXT for t in texts)
    assert " ".join(texts) == text.strip()
    assert all(t.endswith(".") for t in texts), "split at sentence ends"
    assert "quick_replies" in calls[-1].json["message"]
    assert all("quick_replies" not in c.json["message"] for c in calls[:-1])


def test_buttons_without_text_and_empty_replies() -> None:
    (call,) = channel().render(Outbound("messenger", USER, "", (Button("Yes", "/affirm"),)))
    assert call.json["message"]["text"] and call.json["message"]["quick_replies"][0]["payload"] == "/affirm"
    assert channel().render(Outbound("messenger", USER, "  ")) == []


def test_a_field_of_another_type_is_refused_or_ignored() -> None:
    assert parse_failures(channel()) == []


@pytest.mark.parametrize("seed", [1, 2])
async def test_fuzz(started, send_api, fake_rasa, seed) -> None:
    client = await started(env(send_api.url))
    await fuzz(client, PATH, sign, fake_rasa, seed)
    await settle(client)
    assert send_api.requests == []


def test_settings_come_from_its_own_variables() -> None:
    assert MessengerSettings.from_env({"WHATSAPP_APP_SECRET": "x"}) is None, "another platform's variables"
    with pytest.raises(ConfigError, match="set MESSENGER_PAGE_TOKEN"):
        MessengerSettings.from_env({"MESSENGER_APP_SECRET": APP_SECRET, "MESSENGER_VERIFY_TOKEN": VERIFY_TOKEN})
    settings = MessengerSettings.from_env(env("https://graph.example/v1/"))
    assert settings is not None and settings.api_base == "https://graph.example/v1"
    assert PAGE_TOKEN not in repr(settings)
