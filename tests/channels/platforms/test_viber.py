"""Viber: recorded callbacks through the real gateway, outbound calls against a fake REST Bot API."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json

import aiohttp
import pytest

from channels.base import WebhookRequest
from channels.errors import Rejected
from channels.keys import Secret
from channels.models import Button, Outbound
from channels.platforms.viber import (
    AUTH_HEADER,
    MAX_BUTTON_TEXT,
    MAX_BUTTONS,
    MAX_SENDER_NAME,
    MAX_TEXT,
    SIGNATURE_HEADER,
    Viber,
    ViberSettings,
    outcome,
)
from tests.channels.conftest import Case, answer_once, assert_not_logged, fuzz, payload, run_cases, settle
from tests.channels.platforms.hostile import DEEP_ARRAY, DEEP_OBJECT, LONE_SURROGATE, parse_failures, with_raw

TOKEN = "4f1c2a9e8b7d6c5a-0e1f2a3b4c5d6e7f-8a9b0c1d2e3f4a5b"
PATH = "/webhooks/viber"
USER = "q7RvT2mLx0aB9cKd3EfGhA=="
OK = {"status": 0, "status_message": "ok", "message_token": 5790012345678955555, "chat_hostname": "SN-CHAT-07_"}


def env(api_url: str) -> dict[str, str]:
    return {"VIBER_AUTH_TOKEN": TOKEN, "VIBER_API_BASE": api_url}


def signature(body: bytes, key: str = TOKEN) -> str:
    return hmac.new(key.encode(), body, hashlib.sha256).hexdigest()


def sign(body: bytes, how: str) -> dict[str, str]:
    return {"valid": {SIGNATURE_HEADER: signature(body)}, "missing": {},
            "forged": {SIGNATURE_HEADER: signature(body, TOKEN[:-1] + "c")}}[how]


def channel(**overrides: str) -> Viber:
    return Viber(ViberSettings(auth_token=Secret(TOKEN), **overrides))


@pytest.fixture
def viber_api(fake_api):  # type: ignore[no-untyped-def]
    """The fake platform API answering as Viber does when a send succeeds."""
    fake_api.default_body = OK
    return fake_api


def changed(name: str, old: bytes, new: bytes) -> bytes:
    """A recorded body with a new message token, so that a wrongly accepted request is not a redelivery."""
    return payload("viber", name).replace(old, new)


CASES = [
    Case("text message", payload("viber", "text.json"), forwarded=("Mi empleador se quedó con mi pasaporte",)),
    Case("redelivered text is not answered twice", payload("viber", "text.json")),
    # Viber sends one callback per request, never a batch: consecutive callbacks are each processed
    Case("a second message from the same person", payload("viber", "text_followup.json"), forwarded=("¿Es legal?",)),
    Case("keyboard button press", payload("viber", "button.json"), forwarded=('/choose_language{"language":"es"}',)),
    Case("picture", payload("viber", "picture.json"), forwarded=("/media_received",)),
    Case("sticker", payload("viber", "sticker.json"), forwarded=("/media_received",)),
    Case("location", payload("viber", "location.json"), forwarded=("/media_received",)),
    Case("contact card", payload("viber", "contact.json"), forwarded=("/media_received",)),
    Case("file", payload("viber", "file.json"), forwarded=("/media_received",)),
    Case("conversation started is ignored", payload("viber", "conversation_started.json")),
    Case("subscribed ignored", payload("viber", "subscribed.json")),
    Case("unsubscribed ignored", payload("viber", "unsubscribed.json")),
    Case("delivered status ignored", payload("viber", "delivered.json")),
    Case("seen status ignored", payload("viber", "seen.json")),
    Case("failed status ignored", payload("viber", "failed.json")),
    Case("client status ignored", payload("viber", "client_status.json")),
    Case("webhook set-up check gets 200", payload("viber", "webhook.json")),
    Case("missing signature", changed("text.json", b"900001", b"900101"), status=401, signature="missing"),
    Case("forged signature", changed("text.json", b"900001", b"900102"), status=403, signature="forged"),
    Case("invalid JSON", b'{"event": "message", "sender": ', status=400),
    Case("deeply nested JSON", DEEP_ARRAY, status=400),
    Case("deeply nested object in a field", with_raw(payload("viber", "text.json"), ("message", "text"), DEEP_OBJECT),
         status=400),
    Case("lone surrogate in the text", with_raw(payload("viber", "text.json"), ("message", "text"), LONE_SURROGATE),
         status=400),
    Case("no event", payload("viber", "no_event.json"), status=400),
    Case("message without sender", payload("viber", "no_sender.json"), status=400),
]


async def test_webhook_cases(started, viber_api, fake_rasa, caplog) -> None:
    client = await started(env(viber_api.url))
    await run_cases(client, PATH, CASES, sign, fake_rasa, caplog)
    senders = {item["sender"] for item in fake_rasa.received}
    assert len(senders) == 1 and USER not in next(iter(senders)), "the sender must be pseudonymous"
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "conversation_started (the person opened the chat" in logged
    assert_not_logged(caplog, TOKEN, USER, "pasaporte", "legal", "+97455501234")


async def test_reply_reaches_the_api_exactly(started, viber_api, fake_rasa) -> None:
    client = await started(env(viber_api.url))
    body = payload("viber", "text.json")
    response = await client.post(PATH, data=body, headers=sign(body, "valid"))
    assert response.status == 200
    (request,) = await viber_api.wait_for(1)
    assert request.path == "/send_message", "the token goes in a header, never in the URL"
    assert request.headers[AUTH_HEADER] == TOKEN
    assert request.json() == {
        "receiver": USER, "min_api_version": 7, "sender": {"name": "Rights assistant"},
        "type": "text", "text": "reply 1",
        "keyboard": {"Type": "keyboard", "DefaultHeight": False, "Buttons": [
            {"ActionType": "reply", "ActionBody": "/affirm", "Text": "Yes", "Columns": 6, "Rows": 1, "Silent": True},
            {"ActionType": "reply", "ActionBody": "/deny", "Text": "No", "Columns": 6, "Rows": 1, "Silent": True},
        ]},
    }


async def _answer_once(started, api, rasa, caplog, answer) -> list:  # type: ignore[no-untyped-def]
    body = payload("viber", "text.json")
    return await answer_once(started, env(api.url), PATH, body, sign(body, "valid"), api, caplog, answer)


def _events(caplog: pytest.LogCaptureFixture) -> list[dict]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "channels"]


async def test_status_0_is_delivered(started, viber_api, fake_rasa, caplog) -> None:
    requests = await _answer_once(started, viber_api, fake_rasa, caplog, (200, {}, OK))
    assert len(requests) == 1
    assert [e["event"] for e in _events(caplog) if e["event"].startswith("reply_")] == ["reply_sent"]


async def test_retryable_status_in_a_200_is_retried(started, viber_api, fake_rasa, caplog) -> None:
    busy = {"status": 12, "status_message": "tooManyRequests"}
    requests = await _answer_once(started, viber_api, fake_rasa, caplog, (200, {}, busy))
    assert len(requests) == 2 and requests[0].body == requests[1].body
    outcomes = [(e["event"], e.get("reason")) for e in _events(caplog) if e["event"].startswith("reply_")]
    assert outcomes == [("reply_retry", "viber status 12 tooManyRequests"), ("reply_sent", None)]


async def test_receiver_not_subscribed_is_dropped_without_retry(started, viber_api, fake_rasa, caplog) -> None:
    gone = {"status": 6, "status_message": "receiverNotSubscribed"}
    requests = await _answer_once(started, viber_api, fake_rasa, caplog, (200, {}, gone))
    await asyncio.sleep(1.2)  # longer than the first backoff: a wrong retry would have happened by now
    assert len(requests) == 1
    outcomes = [(e["event"], e.get("reason")) for e in _events(caplog) if e["event"].startswith("reply_")]
    assert outcomes == [("reply_dropped", "viber status 6 receiverNotSubscribed")]


async def test_429_waits_for_retry_after(started, viber_api, fake_rasa) -> None:
    viber_api.script = [(429, {"Retry-After": "2"}, {"status": 12, "status_message": "tooManyRequests"})]
    client = await started(env(viber_api.url))
    body = payload("viber", "text.json")
    await client.post(PATH, data=body, headers=sign(body, "valid"))
    await viber_api.wait_for(1)
    loop = asyncio.get_running_loop()
    first = loop.time()
    second_request = (await viber_api.wait_for(2, timeout=10))[1]
    assert loop.time() - first >= 1.5, "waited for Retry-After (2 s), not the 1 s default backoff"
    assert second_request.body == viber_api.requests[0].body


@pytest.mark.parametrize(("status", "headers", "body", "ok", "retry_after", "reason"), [
    (200, {}, OK, True, None, ""),
    (200, {}, {"status": 12, "status_message": "tooManyRequests"}, False, 0.0, "viber status 12 tooManyRequests"),
    (200, {}, {"status": 99, "status_message": "General error"}, False, 0.0, "viber status 99 generalError"),
    (200, {}, {"status": 6, "status_message": "receiverNotSubscribed"}, False, None,
     "viber status 6 receiverNotSubscribed"),
    (200, {}, {"status": 5, "status_message": "receiverNotRegistered"}, False, None,
     "viber status 5 receiverNotRegistered"),
    (200, {}, {"status": 2, "status_message": "invalidAuthToken"}, False, None, "viber status 2 invalidAuthToken"),
    (200, {}, {"status": 7, "status_message": "publicAccountBlocked"}, False, None,
     "viber status 7 publicAccountBlocked"),
    (200, {}, "not an object", False, 0.0, "viber: answer without a status"),
    (429, {"Retry-After": "7"}, {}, False, 7.0, "HTTP 429"),
    (503, {}, {}, False, 0.0, "HTTP 503"),
    (400, {}, {}, False, None, "HTTP 400"),
])
async def test_send_outcomes(viber_api, status, headers, body, ok, retry_after, reason) -> None:
    viber_api.script = [(status, headers, body)]
    viber = channel(api_base=viber_api.url)
    async with aiohttp.ClientSession() as session:
        result = await viber.send(session, viber.render(Outbound("viber", USER, "hi"))[0])
    assert (result.ok, result.retry_after, result.reason) == (ok, retry_after, reason)
    (request,) = viber_api.requests
    assert request.headers[AUTH_HEADER] == TOKEN and TOKEN not in request.path


def test_unreadable_200_is_retried() -> None:
    result = outcome(b"<html>bad gateway</html>")
    assert not result.ok and result.retry_after == 0.0


def test_reason_never_quotes_status_message() -> None:
    result = outcome(json.dumps({"status": 6, "status_message": f"receiver {USER} not subscribed"}).encode())
    assert USER not in result.reason


def test_parse_is_pure_and_exact() -> None:
    parsed = channel().parse(WebhookRequest("POST", "http://x" + PATH, {}, payload("viber", "button.json")))
    (message,) = parsed.messages
    assert (message.kind, message.user_id, message.message_id) == ("button", USER, "5790012345678900002")
    ignored = channel().parse(WebhookRequest("POST", "http://x" + PATH, {}, payload("viber", "seen.json")))
    assert (ignored.messages, ignored.ignored) == ([], ["event seen"])


def test_signature_is_over_the_raw_body() -> None:
    body = payload("viber", "text.json")
    reformatted = json.dumps(json.loads(body)).encode()
    assert reformatted != body
    with pytest.raises(Rejected) as exc:
        channel().verify(WebhookRequest("POST", "http://x" + PATH, sign(body, "valid"), reformatted))
    assert exc.value.status == 403
    channel().verify(WebhookRequest("POST", "http://x" + PATH, sign(reformatted, "valid"), reformatted))


def test_long_text_is_split_and_the_keyboard_stays_on_the_last_part() -> None:
    sentence = "Article 21 says that only an authorised official may confiscate your passport. "
    text = sentence * 200
    calls = channel().render(Outbound("viber", USER, text, (Button("Yes", "/affirm"),)))
    assert len(calls) == 3
    texts = [call.json["text"] for call in calls]
    assert all(len(t) <= MAX_TEXT for t in texts)
    assert " ".join(texts) == text.strip()
    assert all(t.endswith(".") for t in texts), "split at sentence ends"
    assert "keyboard" in calls[-1].json and all("keyboard" not in c.json for c in calls[:-1])


def test_buttons_titles_and_sender_name_fit_the_limits() -> None:
    buttons = tuple(Button(f"Option {i} " + "x" * 300, f"/option_{i}") for i in range(30))
    viber = channel(bot_name="Migrant workers' rights assistant")
    (call,) = viber.render(Outbound("viber", USER, "Choose", buttons))
    rendered = call.json["keyboard"]["Buttons"]
    assert len(rendered) == MAX_BUTTONS
    assert [b["ActionBody"] for b in rendered] == [f"/option_{i}" for i in range(MAX_BUTTONS)]
    assert all(len(b["Text"]) == MAX_BUTTON_TEXT and b["Text"].endswith("…") for b in rendered)
    assert call.json["sender"]["name"] == "Migrant workers' rights assistant"[:MAX_SENDER_NAME]


def test_buttons_without_text_and_empty_replies() -> None:
    (call,) = channel().render(Outbound("viber", USER, "", (Button("Yes", "/affirm"),)))
    assert call.json["text"] and call.json["keyboard"]["Buttons"][0]["ActionBody"] == "/affirm"
    assert channel().render(Outbound("viber", USER, "  ")) == []


def test_a_field_of_another_type_is_refused_or_ignored() -> None:
    assert parse_failures(channel()) == []


@pytest.mark.parametrize("seed", [1, 2])
async def test_fuzz(started, viber_api, fake_rasa, seed) -> None:
    client = await started(env(viber_api.url))
    await fuzz(client, PATH, sign, fake_rasa, seed)
    await settle(client)
    assert viber_api.requests == []


def test_settings_come_from_its_own_variables() -> None:
    assert ViberSettings.from_env({"VIBER_BOT_NAME": "only a name"}) is None, "no token, no Viber"
    settings = ViberSettings.from_env({"VIBER_AUTH_TOKEN": TOKEN, "VIBER_BOT_NAME": "Hotline"})
    assert settings is not None and (settings.bot_name, settings.api_base) == ("Hotline", "https://chatapi.viber.com/pa")
    assert TOKEN not in repr(settings)
