"""Twilio (SMS and WhatsApp through Twilio): recorded form posts through the real gateway, outbound
calls against a fake Messages API."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
from urllib.parse import parse_qs, urlencode

import aiohttp
import pytest

from channels.base import WebhookRequest
from channels.errors import ConfigError, Rejected
from channels.keys import Secret
from channels.models import Button, Outbound
from channels.platforms.twilio import (
    EMPTY_TWIML,
    MAX_BODY,
    MAX_OPTION_TITLE,
    MAX_OPTIONS,
    MAX_SEGMENTS,
    SIGNATURE_HEADER,
    Twilio,
    TwilioSettings,
    signed_urls,
)
from channels.text import is_gsm7, sms_segments, ucs2_length
from tests.channels.conftest import Case, SignFn, assert_not_logged, fuzz, payload, run_cases, settle

TOKEN = "9f4e2c71b0a85d36e1c47f92a0b3d5e8"
ACCOUNT = "AC5e1c0d2b3a4f59687a8b9c0d1e2f3a4b"
PATH = "/webhooks/twilio"
PUBLIC = "https://hotline.example.org"
OURS, PERSON = "+15005550006", "+12025550143"
WA_OURS, WA_PERSON = "whatsapp:+12025550188", "whatsapp:+971500000123"
FORM = "application/x-www-form-urlencoded"
MESSAGE = {"sid": "SMf0e1d2c3b4a5968778695a4b3c2d1e0f", "status": "queued", "num_segments": "1"}


def env(api_url: str, **more: str) -> dict[str, str]:
    return {"TWILIO_ACCOUNT_SID": ACCOUNT, "TWILIO_AUTH_TOKEN": TOKEN, "TWILIO_API_BASE": api_url, **more}


def twilio_signature(url: str, body: bytes, token: str = TOKEN) -> str:
    """Twilio's scheme, written apart from the channel's: names sorted, a repeated name's values sorted."""
    fields = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    data = url + "".join(name + value for name in sorted(fields) for value in sorted(fields[name]))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def signer(url: str) -> SignFn:
    def sign(body: bytes, how: str) -> dict[str, str]:
        return {"valid": {SIGNATURE_HEADER: twilio_signature(url, body)}, "missing": {},
                "forged": {SIGNATURE_HEADER: twilio_signature(url, body, TOKEN[:-1] + "9")}}[how]
    return sign


def channel() -> Twilio:
    return Twilio(TwilioSettings(account_sid=ACCOUNT, auth_token=Secret(TOKEN)))


def sms(sid: str, body: str, sender: str = PERSON, to: str = OURS) -> bytes:
    """An incoming SMS as Twilio posts it (fields in Twilio's order, which is not sorted)."""
    return urlencode([("ToCountry", "US"), ("SmsMessageSid", sid), ("NumMedia", "0"), ("SmsSid", sid),
                      ("SmsStatus", "received"), ("Body", body), ("To", to), ("NumSegments", "1"),
                      ("MessageSid", sid), ("AccountSid", ACCOUNT), ("From", sender),
                      ("ApiVersion", "2010-04-01")]).encode()


def tw(name: str) -> bytes:
    return payload("twilio", name)


def changed(name: str) -> bytes:
    """A recorded body with a new MessageSid, so that a wrongly accepted request is not a redelivery."""
    return tw(name).replace(b"SM77416068584080a4c6561a87c9e6a02e", b"SM77416068584080a4c6561a87c9e6a0ff")


@pytest.fixture
def twilio_api(fake_api):  # type: ignore[no-untyped-def]
    """The fake platform API answering as Twilio's Messages resource does."""
    fake_api.default_body = MESSAGE
    return fake_api


async def start(started, api, **more: str):  # type: ignore[no-untyped-def]
    """The gateway with Twilio on, and a signer for the URL Twilio would call."""
    client = await started(env(api.url, **more))
    return client, signer(more.get("GATEWAY_PUBLIC_URL", str(client.make_url("")).rstrip("/")) + PATH)


def form_case(label: str, body: bytes, **kw) -> Case:  # type: ignore[no-untyped-def]
    return Case(label, body, content_type=FORM, **kw)


CASES = [
    form_case("SMS text", tw("sms_text.form"), forwarded=("Mi empleador se quedó con mi pasaporte",)),
    form_case("redelivered SMS is not answered twice", tw("sms_text.form")),
    # Twilio posts one message per request, never a batch: consecutive posts are each processed
    form_case("a second message from the same person", tw("sms_followup.form"), forwarded=("¿Es legal?",)),
    form_case("MMS photo", tw("mms_photo.form"), forwarded=("/media_received",)),
    form_case("WhatsApp text", tw("whatsapp_text.form"), forwarded=("صاحب العمل أخذ جواز سفري",)),
    form_case("WhatsApp quick reply", tw("whatsapp_button.form"), forwarded=('/choose_language{"language":"ar"}',)),
    form_case("WhatsApp voice note", tw("whatsapp_voice.form"), forwarded=("/media_received",)),
    form_case("WhatsApp location", tw("whatsapp_location.form"), forwarded=("/media_received",)),
    form_case("delivered status ignored", tw("status_delivered.form")),
    form_case("undelivered status ignored", tw("status_undelivered.form")),
    form_case("WhatsApp read status ignored", tw("whatsapp_status_read.form")),
    form_case("STOP ignored (Twilio answers it)", tw("sms_stop.form")),
    form_case("empty SMS ignored", tw("sms_empty.form")),
    form_case("missing signature", changed("sms_text.form"), status=401, signature="missing"),
    form_case("forged signature", changed("sms_text.form"), status=403, signature="forged"),
    form_case("another account's message", tw("other_account.form"), status=403),
    form_case("no AccountSid", tw("no_account.form"), status=400),
    form_case("no MessageSid", tw("no_sid.form"), status=400),
    form_case("NumMedia not a number", tw("bad_num_media.form"), status=400),
    form_case("JSON instead of a form", json.dumps({"MessageSid": "SM1", "From": PERSON}).encode(), status=400),
    form_case("raw bytes that are not UTF-8 cannot be signed", b"Body=\xff\xfe&MessageSid=SM1", status=403),
    form_case("escapes that are not UTF-8 cannot be signed", b"Body=%ff%fe&MessageSid=SM1", status=403),
]


async def test_webhook_cases(started, twilio_api, fake_rasa, caplog) -> None:
    client, sign = await start(started, twilio_api)
    await run_cases(client, PATH, CASES, sign, fake_rasa, caplog)
    senders = {item["sender"] for item in fake_rasa.received}
    assert len(senders) == 2, "SMS and WhatsApp are two conversations, whatever the number"
    assert all(s.startswith("twilio-") and "971" not in s and "202555" not in s for s in senders)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for reason in ("status callback delivered", "status callback undelivered", "status callback read",
                   "opt-out keyword", "AccountSid is not this gateway's account"):
        assert reason in logged
    assert_not_logged(caplog, TOKEN, PERSON, "971500000123", "2025550188", "pasaporte", "جواز", "contract")


async def test_accepted_answer_is_empty_twiml(started, twilio_api, fake_rasa) -> None:
    client, sign = await start(started, twilio_api)
    for name in ("sms_text.form", "status_delivered.form"):  # a message, and an ignored callback
        body = tw(name)
        response = await client.post(PATH, data=body, headers={"Content-Type": FORM, **sign(body, "valid")})
        assert response.status == 200
        assert response.content_type == "text/xml"
        assert await response.text() == EMPTY_TWIML


async def test_sms_reply_reaches_the_messages_api_exactly(started, twilio_api, fake_rasa) -> None:
    client, sign = await start(started, twilio_api)
    body = tw("sms_text.form")
    await client.post(PATH, data=body, headers={"Content-Type": FORM, **sign(body, "valid")})
    (request,) = await twilio_api.wait_for(1)
    assert request.path == f"/Accounts/{ACCOUNT}/Messages.json"
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()
    assert request.headers["Content-Type"] == FORM
    assert request.form() == {"From": OURS, "To": PERSON, "Body": "reply 1\n\n1. Yes\n2. No"}


async def test_whatsapp_reply_keeps_the_whatsapp_addresses(started, twilio_api, fake_rasa) -> None:
    client, sign = await start(started, twilio_api)
    body = tw("whatsapp_text.form")
    await client.post(PATH, data=body, headers={"Content-Type": FORM, **sign(body, "valid")})
    (request,) = await twilio_api.wait_for(1)
    assert request.form() == {"From": WA_OURS, "To": WA_PERSON, "Body": "reply 1\n\n1. Yes\n2. No"}


async def test_numbered_answer_reaches_rasa_as_the_buttons_payload(started, twilio_api, fake_rasa) -> None:
    client, sign = await start(started, twilio_api)

    async def say(sid: str, text: str) -> str:
        body = sms(sid, text)
        response = await client.post(PATH, data=body, headers={"Content-Type": FORM, **sign(body, "valid")})
        assert response.status == 200
        await settle(client)
        return fake_rasa.received[-1]["message"]

    assert await say("SM0a1b2c3d4e5f60718293a4b5c6d7e8f1", "My boss keeps my passport") == "My boss keeps my passport"
    assert (await twilio_api.wait_for(1))[0].form()["Body"].endswith("1. Yes\n2. No")
    assert await say("SM0a1b2c3d4e5f60718293a4b5c6d7e8f2", " 2 ") == "/deny"
    # the latest message offered Yes/No again; a number past the options is just text
    assert await say("SM0a1b2c3d4e5f60718293a4b5c6d7e8f3", "7") == "7"
    assert await say("SM0a1b2c3d4e5f60718293a4b5c6d7e8f4", "1") == "/affirm"


async def test_signature_over_the_public_url_behind_a_proxy(started, twilio_api, fake_rasa) -> None:
    client, public = await start(started, twilio_api, GATEWAY_PUBLIC_URL=PUBLIC)
    own = signer(str(client.make_url(PATH)))
    first, second = sms("SM1b2c3d4e5f60718293a4b5c6d7e8f901", "hola"), sms("SM1b2c3d4e5f60718293a4b5c6d7e8f902", "si")
    response = await client.post(PATH, data=first, headers={"Content-Type": FORM, **own(first, "valid")})
    assert response.status == 403, "signed over the server's own URL, not the one Twilio calls"
    response = await client.post(PATH, data=first, headers={"Content-Type": FORM, **public(first, "valid")})
    assert response.status == 200
    # Twilio sometimes signs the URL with the default port written out
    with_port = signer(f"{PUBLIC}:443{PATH}")
    response = await client.post(PATH, data=second, headers={"Content-Type": FORM, **with_port(second, "valid")})
    assert response.status == 200
    await settle(client)
    assert [item["message"] for item in fake_rasa.received] == ["hola", "si"]


def _events(caplog: pytest.LogCaptureFixture) -> list[dict]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "channels"]


async def test_429_waits_for_retry_after(started, twilio_api, fake_rasa, caplog) -> None:
    caplog.set_level(logging.INFO)
    twilio_api.script = [(429, {"Retry-After": "1"}, {"code": 20429, "message": "Too Many Requests", "status": 429})]
    client, sign = await start(started, twilio_api)
    body = tw("sms_text.form")
    await client.post(PATH, data=body, headers={"Content-Type": FORM, **sign(body, "valid")})
    first, second = await twilio_api.wait_for(2, timeout=10)
    assert first.body == second.body
    await settle(client)
    outcomes = [(e["event"], e.get("reason")) for e in _events(caplog) if e["event"].startswith("reply_")]
    assert outcomes == [("reply_retry", "HTTP 429 twilio 20429"), ("reply_sent", None)]


async def test_unsubscribed_recipient_is_dropped_without_retry(started, twilio_api, fake_rasa, caplog) -> None:
    caplog.set_level(logging.INFO)
    refused = {"code": 21610, "message": f"Attempt to send to unsubscribed recipient {PERSON}", "status": 400}
    twilio_api.script = [(400, {}, refused)]
    client, sign = await start(started, twilio_api)
    body = tw("sms_text.form")
    await client.post(PATH, data=body, headers={"Content-Type": FORM, **sign(body, "valid")})
    await twilio_api.wait_for(1)
    await settle(client)
    await asyncio.sleep(1.2)  # longer than the first backoff: a wrong retry would have happened by now
    assert len(twilio_api.requests) == 1
    outcomes = [(e["event"], e.get("reason")) for e in _events(caplog) if e["event"].startswith("reply_")]
    assert outcomes == [("reply_dropped", "HTTP 400 twilio 21610")]
    assert_not_logged(caplog, PERSON, TOKEN)


@pytest.mark.parametrize(("status", "headers", "body", "ok", "retry_after", "reason"), [
    (201, {}, MESSAGE, True, None, ""),
    (429, {"Retry-After": "7"}, {"code": 20429}, False, 7.0, "HTTP 429 twilio 20429"),
    (503, {}, "<html>unavailable</html>", False, 0.0, "HTTP 503"),
    (400, {}, {"code": 63016, "message": "outside the allowed window"}, False, None, "HTTP 400 twilio 63016"),
    (401, {}, {"code": 20003, "message": "Authenticate"}, False, None, "HTTP 401 twilio 20003"),
])
async def test_send_outcomes(twilio_api, status, headers, body, ok, retry_after, reason) -> None:
    twilio_api.script = [(status, headers, body)]
    tw_channel = Twilio(TwilioSettings(account_sid=ACCOUNT, auth_token=Secret(TOKEN), api_base=twilio_api.url))
    async with aiohttp.ClientSession() as session:
        (call,) = tw_channel.render(Outbound("twilio", PERSON, "hi", reply_to={"from": OURS}))
        result = await tw_channel.send(session, call)
    assert (result.ok, result.retry_after, result.reason) == (ok, retry_after, reason)
    (request,) = twilio_api.requests
    assert TOKEN not in request.path


@pytest.mark.parametrize("seed", [1, 2])
async def test_fuzz(started, twilio_api, fake_rasa, seed) -> None:
    client, sign = await start(started, twilio_api)
    await fuzz(client, PATH, sign, fake_rasa, seed, content_type=FORM)
    await settle(client)
    assert twilio_api.requests == []


# pure: parsing and verifying


def _request(body: bytes, url: str = f"{PUBLIC}{PATH}", signed_over: str | None = None) -> WebhookRequest:
    headers = {SIGNATURE_HEADER: twilio_signature(signed_over or url, body)}
    return WebhookRequest("POST", url, headers, body)


def test_parse_keeps_the_whatsapp_prefix_and_our_number() -> None:
    (message,) = channel().parse(_request(tw("whatsapp_button.form"))).messages
    assert (message.kind, message.user_id, message.reply_to) == ("button", WA_PERSON, {"from": WA_OURS})
    assert message.message_id == "SMe037535a2649869a3a1322c58fa476a8"
    (sms_message,) = channel().parse(_request(tw("sms_text.form"))).messages
    assert (sms_message.user_id, sms_message.reply_to) == (PERSON, {"from": OURS})


def test_verify_accepts_exactly_the_signed_url() -> None:
    body = tw("sms_text.form")
    channel().verify(_request(body))
    channel().verify(_request(body, url=f"{PUBLIC}{PATH}", signed_over=f"{PUBLIC}:443{PATH}"))
    for other in (f"http://hotline.example.org{PATH}", f"{PUBLIC}{PATH}?x=1", f"{PUBLIC}:8443{PATH}"):
        with pytest.raises(Rejected) as caught:
            channel().verify(_request(body, signed_over=other))
        assert caught.value.status == 403


def test_verify_rejects_a_changed_parameter() -> None:
    body = tw("sms_text.form")
    request = _request(body)
    tampered = WebhookRequest("POST", request.url, request.headers, body.replace(b"pasaporte", b"pasaportes"))
    with pytest.raises(Rejected) as caught:
        channel().verify(tampered)
    assert caught.value.status == 403


def test_default_port_is_toggled_and_no_other() -> None:
    assert signed_urls(f"{PUBLIC}{PATH}") == [f"{PUBLIC}{PATH}", f"{PUBLIC}:443{PATH}"]
    assert signed_urls(f"{PUBLIC}:443{PATH}?a=1") == [f"{PUBLIC}:443{PATH}?a=1", f"{PUBLIC}{PATH}?a=1"]
    assert signed_urls("http://[::1]:80/x") == ["http://[::1]:80/x", "http://[::1]/x"]
    assert signed_urls("http://127.0.0.1:8080/x") == ["http://127.0.0.1:8080/x"]


# pure: rendering within Twilio's limits

SENTENCE_EN = "Your employer may not keep your passport, and you can ask for it back at any time. "
SENTENCE_AR = "لا يجوز لصاحب العمل الاحتفاظ بجواز سفرك، ويمكنك أن تطلب استعادته في أي وقت. "


def _bodies(user: str, text: str, buttons: tuple[Button, ...] = ()) -> list[str]:
    sender = WA_OURS if user.startswith("whatsapp:") else OURS
    calls = channel().render(Outbound("twilio", user, text, buttons, reply_to={"from": sender}))
    assert all(call.form["From"] == sender and call.form["To"] == user for call in calls)
    return [call.form["Body"] for call in calls]


def test_long_english_sms_splits_at_four_gsm7_segments() -> None:
    text = SENTENCE_EN * 16  # 1328 characters, all GSM-7: seven 83-character sentences fit in 612
    bodies = _bodies(PERSON, text)
    assert all(is_gsm7(b) and len(b) <= 612 for b in bodies)
    assert [len(b) for b in bodies] == [580, 580, 165]
    assert [sms_segments(b) for b in bodies] == [MAX_SEGMENTS, MAX_SEGMENTS, 2]
    assert all(b.endswith(".") for b in bodies), "split at sentence ends"
    assert " ".join(bodies) == text.strip()


def test_long_arabic_sms_splits_at_four_ucs2_segments() -> None:
    text = SENTENCE_AR * 10  # 759 characters: three 76-character sentences fit in 268 UCS-2 units
    bodies = _bodies(PERSON, text)
    assert all(not is_gsm7(b) and ucs2_length(b) <= 268 for b in bodies)
    assert [sms_segments(b) for b in bodies] == [MAX_SEGMENTS] * 3 + [2]
    assert all(b.endswith(".") for b in bodies)
    assert " ".join(bodies) == text.strip()


def test_one_emoji_makes_the_whole_sms_ucs2() -> None:
    text = SENTENCE_EN * 4 + "🙂"  # 333 characters: one 3-segment GSM-7 message without the emoji
    bodies = _bodies(PERSON, text)
    assert len(bodies) == 2, "planned with the UCS-2 allowance of 268 units"
    assert all(ucs2_length(b) <= 268 for b in bodies)
    # the part without the emoji goes out as GSM-7, cheaper than planned; the other is UCS-2
    assert [(is_gsm7(b), sms_segments(b)) for b in bodies] == [(True, 2), (False, 2)]


def test_whatsapp_through_twilio_splits_at_1600_characters_not_segments() -> None:
    assert len(_bodies(WA_PERSON, SENTENCE_AR * 10)) == 1, "an Arabic answer of 770 characters is one WhatsApp message"
    text = SENTENCE_EN * 50  # 4150 characters
    bodies = _bodies(WA_PERSON, text)
    assert len(bodies) == 3 and all(len(b) <= MAX_BODY for b in bodies)
    assert " ".join(bodies) == text.strip()


def test_buttons_become_numbered_lines_within_limits() -> None:
    buttons = tuple(Button(f"Option {i}", f"/choose{i}") for i in range(1, 13))
    (body,) = _bodies(PERSON, "Pick one", buttons)
    lines = body.split("\n")
    assert lines[:2] == ["Pick one", ""]
    assert lines[2:] == [f"{i}. Option {i}" for i in range(1, MAX_OPTIONS + 1)]


def test_long_option_titles_are_cut_and_sms_stays_gsm7() -> None:
    title = "I want to know what to do when my employer keeps my passport and my salary"
    (sms_body,) = _bodies(PERSON, "Which one?", (Button(title, "/a"), Button("Other", "/b")))
    first = sms_body.split("\n")[2]
    assert first == "1. " + title[: MAX_OPTION_TITLE - 3].rstrip() + "..."
    assert is_gsm7(sms_body), "an ASCII cut keeps a Latin answer in GSM-7"
    (wa_body,) = _bodies(WA_PERSON, "Which one?", (Button(title, "/a"),))
    assert wa_body.split("\n")[2].endswith("…") and len(wa_body.split("\n")[2]) == 3 + MAX_OPTION_TITLE


def test_typographic_punctuation_is_made_gsm7_on_sms_only() -> None:
    text = "Don’t sign – ask “why” first…"
    (sms_body,) = _bodies(PERSON, text)
    assert sms_body == "Don't sign - ask \"why\" first..."
    assert is_gsm7(sms_body)
    (wa_body,) = _bodies(WA_PERSON, text)
    assert wa_body == text


def test_empty_reply_sends_nothing_and_buttons_alone_are_sent() -> None:
    assert _bodies(PERSON, "") == []
    assert _bodies(PERSON, "", (Button("Yes", "/affirm"),)) == ["1. Yes"]


def test_settings_come_from_its_own_variables() -> None:
    assert TwilioSettings.from_env({}) is None
    with pytest.raises(ConfigError, match="set TWILIO_ACCOUNT_SID"):
        TwilioSettings.from_env({"TWILIO_AUTH_TOKEN": "x"})
    settings = TwilioSettings.from_env({"TWILIO_AUTH_TOKEN": TOKEN, "TWILIO_ACCOUNT_SID": ACCOUNT})
    assert settings is not None and settings.account_sid == ACCOUNT and TOKEN not in repr(settings)
