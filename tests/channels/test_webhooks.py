"""The webhook routes every platform shares (channels/webhooks.py), with Telegram as the carrier:
the body cap, unknown channels, a GET on a platform without a handshake, and odd bytes in the
headers every platform authenticates with. Verification and
parsing per platform are in tests/channels/platforms/."""

from __future__ import annotations

import logging

import aiohttp
import pytest

from channels.base import Channel, WebhookRequest
from channels.models import ApiCall, Inbound, Outbound, Parsed, SendResult
from tests.channels.conftest import payload, send_raw, settle
from tests.channels.platforms import test_messenger as messenger
from tests.channels.platforms import test_telegram as telegram
from tests.channels.platforms import test_twilio as twilio
from tests.channels.platforms import test_viber as viber
from tests.channels.platforms import test_whatsapp as whatsapp
from tests.channels.platforms.test_telegram import PATH, env, sign
from tests.channels.test_gateway import update


async def test_body_size_is_capped(started, fake_api, fake_rasa) -> None:
    client = await started({**env(fake_api.url), "GATEWAY_MAX_BODY_BYTES": "1024"})
    big = update(1, "x" * 2000)
    response = await client.post(PATH, data=big, headers=sign(b"", "valid"))
    assert response.status == 413
    await settle(client)
    assert fake_rasa.received == []


async def test_unknown_channel_is_404(started, fake_api) -> None:
    client = await started(env(fake_api.url))
    assert (await client.post("/webhooks/whatsapp", data=b"{}")).status == 404


async def test_a_platform_without_a_handshake_refuses_get(started, fake_api, fake_rasa) -> None:
    client = await started(env(fake_api.url))
    response = await client.get(PATH, params={"hub.challenge": "123"})
    assert response.status == 405
    assert fake_rasa.received == []


# A platform's auth header holding a byte that is not UTF-8 (aiohttp hands it over as a lone
# surrogate, "\udcff"): refused like any wrong secret, never a 500 (security report row 1.10).
ODD_HEADERS = {
    "telegram": (telegram.env, {telegram.SECRET_HEADER: b"tg_\xff\xfe"}, payload("telegram", "text.json"), 401),
    "viber": (viber.env, {viber.SIGNATURE_HEADER: b"\xff" + b"0" * 63}, payload("viber", "text.json"), 403),
    "twilio": (twilio.env, {twilio.SIGNATURE_HEADER: b"\xff\xfeabc=", "Content-Type": twilio.FORM},
               twilio.tw("sms_text.form"), 403),
    "whatsapp": (whatsapp.env, {whatsapp.SIGNATURE_HEADER: b"sha256=\xff" + b"0" * 63},
                 payload("whatsapp", "text.json"), 403),
    "messenger": (messenger.env, {messenger.SIGNATURE_HEADER: b"sha256=" + b"0" * 63 + b"\xff"},
                  payload("messenger", "text.json"), 403),
}


@pytest.mark.parametrize("name", ODD_HEADERS)
async def test_a_non_utf8_byte_in_an_auth_header_is_refused(started, fake_api, fake_rasa, caplog, name) -> None:
    caplog.set_level(logging.INFO)
    platform_env, headers, body, status = ODD_HEADERS[name]
    client = await started(platform_env(fake_api.url))
    assert (await send_raw(client, "POST", f"/webhooks/{name}", headers, body))[0] == status
    await settle(client)
    assert fake_rasa.received == []
    assert "Traceback" not in caplog.text


async def test_twilio_behind_no_proxy_refuses_an_odd_host(started, fake_api, fake_rasa) -> None:
    """Without GATEWAY_PUBLIC_URL the signed URL is built from the Host header, which the caller writes."""
    client = await started(twilio.env(fake_api.url))
    body = twilio.tw("sms_text.form")
    headers = {"Host": b"hotline\xff.example.org", "Content-Type": twilio.FORM, twilio.SIGNATURE_HEADER: "abc="}
    assert (await send_raw(client, "POST", "/webhooks/twilio", headers, body))[0] == 403
    assert fake_rasa.received == []


class Storing(Channel):
    """A platform whose parse lets through what the gateway cannot store: a lone surrogate in the
    sender's ID. No real channel does (load_json refuses it first); this is the second line."""

    name = "storing"

    def verify(self, request: WebhookRequest) -> None:
        pass

    def parse(self, request: WebhookRequest) -> Parsed:
        return Parsed([Inbound(self.name, "1", "1555\ud800", "text", "hello")])

    def render(self, message: Outbound) -> list[ApiCall]:
        return []

    async def send(self, session: aiohttp.ClientSession, call: ApiCall) -> SendResult:
        return SendResult(ok=True)


async def test_a_message_the_gateway_cannot_store_is_refused_with_a_400(started, fake_rasa, caplog) -> None:
    caplog.set_level(logging.INFO)
    client = await started({}, channels={"storing": Storing()})
    response = await client.post("/webhooks/storing", data=b"{}")
    assert response.status == 400
    assert "not valid Unicode" in (await response.json())["error"]
    await settle(client)
    assert fake_rasa.received == []
    assert "Traceback" not in caplog.text
