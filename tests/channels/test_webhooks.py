"""The webhook routes every platform shares (channels/webhooks.py), with Telegram as the carrier:
the body cap, unknown channels, and a GET on a platform without a handshake. Verification and
parsing per platform are in tests/channels/platforms/."""

from __future__ import annotations

from tests.channels.conftest import settle
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
