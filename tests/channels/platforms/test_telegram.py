"""Telegram: recorded updates through the real gateway, outbound calls against a fake Bot API."""

from __future__ import annotations

import json
import logging

import pytest

from channels.base import WebhookRequest
from channels.errors import ConfigError
from channels.keys import Secret
from channels.models import Button, Outbound
from channels.platforms.telegram import MAX_TEXT, SECRET_HEADER, Telegram, TelegramSettings
from tests.channels.conftest import Case, assert_not_logged, fuzz, payload, run_cases, settle
from tests.channels.platforms.hostile import DEEP_ARRAY, DEEP_OBJECT, LONE_SURROGATE, parse_failures, with_raw

TOKEN = "7000000001:AAF-test-bot-token-0123456789abcdef"
SECRET_TOKEN = "tg-secret-token-for-tests_0123"
PATH = "/webhooks/telegram"
USER = "5512345678"


def env(api_url: str) -> dict[str, str]:
    return {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_SECRET_TOKEN": SECRET_TOKEN, "TELEGRAM_API_BASE": api_url}


def sign(body: bytes, how: str) -> dict[str, str]:
    return {"valid": {SECRET_HEADER: SECRET_TOKEN}, "missing": {},
            "forged": {SECRET_HEADER: "tg-secret-token-for-tests_0124"}}[how]


TEXT = payload("telegram", "text.json")


def channel() -> Telegram:
    return Telegram(TelegramSettings(bot_token=Secret(TOKEN), secret_token=Secret(SECRET_TOKEN)))


CASES = [
    Case("text message", payload("telegram", "text.json"), forwarded=("صاحب العمل أخذ جواز سفري",)),
    Case("redelivered text is not answered twice", payload("telegram", "text.json")),
    Case("button press", payload("telegram", "button.json"), forwarded=('/choose_language{"language":"es"}',)),
    Case("voice note", payload("telegram", "voice.json"), forwarded=("/media_received",)),
    Case("photo", payload("telegram", "photo.json"), forwarded=("/media_received",)),
    Case("edited message ignored", payload("telegram", "edited.json")),
    Case("group chat ignored", payload("telegram", "group.json")),
    Case("membership update ignored", payload("telegram", "member.json")),
    Case("missing secret", payload("telegram", "text.json").replace(b"804512001", b"804512101"),
         status=401, signature="missing"),
    Case("forged secret", payload("telegram", "text.json").replace(b"804512001", b"804512102"),
         status=401, signature="forged"),
    Case("invalid JSON", b'{"update_id": 1, "message": ', status=400),
    Case("no update_id", payload("telegram", "no_update_id.json"), status=400),
    Case("empty text ignored", with_raw(TEXT, ("message", "text"), '""', update_id=804512201)),
    Case("whitespace-only text ignored", with_raw(TEXT, ("message", "text"), '"  \\n\\t "', update_id=804512202)),
    Case("deeply nested JSON", DEEP_ARRAY, status=400),
    Case("deeply nested object in a field", with_raw(TEXT, ("message", "text"), DEEP_OBJECT, update_id=804512203),
         status=400),
    Case("lone surrogate in the text", with_raw(TEXT, ("message", "text"), LONE_SURROGATE, update_id=804512204),
         status=400),
]


async def test_webhook_cases(started, fake_api, fake_rasa, caplog) -> None:
    client = await started(env(fake_api.url))
    await run_cases(client, PATH, CASES, sign, fake_rasa, caplog)
    senders = {item["sender"] for item in fake_rasa.received}
    assert len(senders) == 1 and USER not in next(iter(senders)), "the sender must be pseudonymous"
    assert_not_logged(caplog, TOKEN, SECRET_TOKEN, USER, "جواز")


async def test_reply_reaches_the_bot_api_exactly(started, fake_api, fake_rasa) -> None:
    client = await started(env(fake_api.url))
    response = await client.post(PATH, data=payload("telegram", "text.json"), headers=sign(b"", "valid"))
    assert response.status == 200
    (request,) = await fake_api.wait_for(1)
    assert request.path == f"/bot{TOKEN}/sendMessage"
    assert request.json() == {
        "chat_id": 5512345678, "text": "reply 1",
        "reply_markup": {"inline_keyboard": [[{"text": "Yes", "callback_data": "/affirm"}],
                                             [{"text": "No", "callback_data": "/deny"}]]},
    }


async def test_429_waits_for_retry_after(started, fake_api, fake_rasa) -> None:
    fake_api.script = [(429, {"Retry-After": "1"}, {"ok": False, "error_code": 429})]
    client = await started(env(fake_api.url))
    await client.post(PATH, data=payload("telegram", "text.json"), headers=sign(b"", "valid"))
    first, second = await fake_api.wait_for(2, timeout=10)
    assert first.body == second.body
    assert fake_api.requests[1] is second


async def test_429_retry_after_in_body() -> None:
    # Telegram also says how long to wait inside the JSON body
    import aiohttp
    from aiohttp import web
    from aiohttp.test_utils import TestServer

    async def handler(request: web.Request) -> web.Response:
        return web.json_response({"ok": False, "parameters": {"retry_after": 7}}, status=429)

    app = web.Application()
    app.router.add_post("/{tail:.*}", handler)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        tg = Telegram(TelegramSettings(Secret(TOKEN), Secret(SECRET_TOKEN), api_base=str(server.make_url(""))))
        async with aiohttp.ClientSession() as session:
            result = await tg.send(session, tg.render(Outbound("telegram", USER, "hi"))[0])
        assert not result.ok and result.retry_after == 7.0
    finally:
        await server.close()


def test_parse_is_pure_and_complete() -> None:
    parsed = channel().parse(WebhookRequest("POST", "http://x" + PATH, {}, payload("telegram", "button.json")))
    (message,) = parsed.messages
    assert (message.kind, message.user_id, message.message_id) == ("button", USER, "804512002")


def test_long_text_is_split_and_buttons_stay_on_the_last_part() -> None:
    sentence = "Article 21 says that only an authorised official may confiscate your passport. "
    text = sentence * 120
    calls = channel().render(Outbound("telegram", USER, text, (Button("Yes", "/affirm"),)))
    assert len(calls) == 3
    texts = [call.json["text"] for call in calls]
    assert all(len(t) <= MAX_TEXT for t in texts)
    assert " ".join(texts) == text.strip()
    assert all(t.endswith(".") for t in texts), "split at sentence ends"
    assert "reply_markup" in calls[-1].json and all("reply_markup" not in c.json for c in calls[:-1])


def test_payload_too_long_for_callback_data_is_dropped() -> None:
    long_payload = "/ask_question" + json.dumps({"topic": "x" * 80})
    (call,) = channel().render(Outbound("telegram", USER, "hi", (Button("A", long_payload), Button("B", "/b"))))
    assert call.json["reply_markup"]["inline_keyboard"] == [[{"text": "B", "callback_data": "/b"}]]


def test_a_field_of_another_type_is_refused_or_ignored() -> None:
    assert parse_failures(channel()) == []


LONG_NAMES = {
    "unknown update type": b'{"update_id": 804512301, "' + b"k" * 5000 + b'": {}}',
    "group chat": with_raw(TEXT, ("message", "chat", "type"), '"' + "g" * 5000 + '"', update_id=804512302),
    "chat type of another JSON type": with_raw(TEXT, ("message", "chat", "type"), '{"g": "' + "g" * 5000 + '"}',
                                               update_id=804512303),
}


@pytest.mark.parametrize("label", LONG_NAMES)
async def test_what_the_webhook_names_is_logged_cut_short(started, fake_api, fake_rasa, caplog, label) -> None:
    caplog.set_level(logging.INFO)
    body = LONG_NAMES[label]
    client = await started(env(fake_api.url))
    response = await client.post(PATH, data=body, headers=sign(body, "valid"))
    assert response.status == 200, label
    await settle(client)
    (ignored,) = [json.loads(r.getMessage()) for r in caplog.records if '"webhook_ignored"' in r.getMessage()]
    assert len(ignored["reason"]) <= 80 and "g" * 41 not in ignored["reason"] and "k" * 41 not in ignored["reason"]
    assert fake_rasa.received == []


@pytest.mark.parametrize("seed", [1, 2])
async def test_fuzz(started, fake_api, fake_rasa, seed) -> None:
    client = await started(env(fake_api.url))
    await fuzz(client, PATH, sign, fake_rasa, seed)
    await settle(client)
    assert fake_api.requests == []


def test_settings_come_from_its_own_variables() -> None:
    assert TelegramSettings.from_env({"WHATSAPP_ACCESS_TOKEN": "x"}) is None, "not configured: off"
    with pytest.raises(ConfigError, match="set TELEGRAM_SECRET_TOKEN"):
        TelegramSettings.from_env({"TELEGRAM_BOT_TOKEN": "x"})
    settings = TelegramSettings.from_env(env("https://telegram.example/"))
    assert settings is not None and settings.api_base == "https://telegram.example"
    assert settings.bot_token.reveal() == TOKEN and TOKEN not in repr(settings)
