"""Fairness (the security report's run 3.8): 1,000 web chat messages from 1,000 sessions delayed
WhatsApp messages by 27-38 s, because the inbox was one FIFO queue across all channels. The
inbox now serves channels in turn and caps how many workers one channel holds while another has
work, so a message on a quiet channel is taken in the next round whatever the backlog elsewhere."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from aiohttp.test_utils import TestClient

from channels.gateway import WORKERS
from channels.models import Inbound
from tests.channels.conftest import gateway_for, gateway_of, payload, serve
from tests.channels.platforms.test_whatsapp import PATH, env, sign
from tests.channels.test_gateway_shutdown import SlowApi, SlowRasa, until

BACKLOG = 300


async def test_a_web_chat_flood_does_not_hold_up_a_whatsapp_message(
        tmp_path: Path, slow_rasa: SlowRasa, slow_api: SlowApi) -> None:
    slow_rasa.delay, slow_rasa.one_at_a_time = 0.045, True  # the report's Rasa: 22 messages a second
    client = await serve(gateway_for(tmp_path, slow_rasa.url, WEBCHAT_ENABLED="true", **env(slow_api.url)))
    try:
        await flood_then_whatsapp(client, slow_rasa)
    finally:
        await client.close()


async def flood_then_whatsapp(client: TestClient, rasa: SlowRasa) -> None:
    gateway = gateway_of(client)
    for n in range(BACKLOG):  # 300 people on the web chat, one message each
        await gateway.accept(Inbound("webchat", f"flood-{n}", f"session-{n:04d}-abcdefghijkl", "text", f"flood {n}"))
    await until(lambda: len(rasa.started) >= WORKERS, what="the flood reached Rasa")

    response = await client.post(PATH, data=payload("whatsapp", "text.json"),
                                 headers={"Content-Type": "application/json",
                                          **sign(payload("whatsapp", "text.json"), "valid")})
    assert response.status == 200
    ahead = len(rasa.started)
    deadline = time.monotonic() + 30
    while not any(not text.startswith("flood ") for text in rasa.started):
        assert time.monotonic() < deadline, "the WhatsApp message never reached Rasa"
        await asyncio.sleep(0.01)
    position = next(i for i, text in enumerate(rasa.started) if not text.startswith("flood "))
    overtaken = position - ahead  # web chat calls that reached Rasa after the WhatsApp message was accepted
    assert overtaken <= WORKERS, f"{overtaken} web chat messages went to Rasa first"
    assert BACKLOG - position > BACKLOG // 2, "taken long before the web chat backlog drained"
