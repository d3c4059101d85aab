"""Exactly once across gateways (the security report's run F: two processes overlapping sent 8 of
40 messages to Rasa twice and 8 replies twice; run D: a killed gateway's message was sent again).
A message or reply is claimed by one gateway before it is worked on; the claim lapses only when
its holder stops renewing it."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter, defaultdict
from pathlib import Path

import aiohttp

from tests.channels.conftest import gateway_for, serve, settle
from tests.channels.platforms.test_telegram import PATH, env, sign
from tests.channels.test_gateway_shutdown import (
    SlowApi,
    SlowRasa,
    claims_held,
    running,
    telegram_update,
    until,
)

CHAT = 6200000000


async def test_two_gateways_on_one_database_send_each_message_and_each_reply_once(
        tmp_path: Path, slow_rasa: SlowRasa, slow_api: SlowApi) -> None:
    slow_rasa.delay, slow_api.delay = 0.2, 0.2
    gateways = [gateway_for(tmp_path, slow_rasa.url, **env(slow_api.url)) for _ in range(2)]
    assert gateways[0].owner != gateways[1].owner
    clients = [await serve(gateway) for gateway in gateways]
    sent: dict[int, list[str]] = defaultdict(list)  # chat -> texts, in the order the person wrote them
    try:
        for n in range(40):
            chat, text = CHAT + n % 10, f"message {n}"
            sent[chat].append(text)
            response = await clients[n % 2].post(PATH, data=telegram_update(n, chat, text),
                                                 headers=sign(b"", "valid"))
            assert response.status == 200
        await slow_api.wait_for(40, timeout=60)
        for client in clients:
            await settle(client, timeout=30)
        await asyncio.sleep(0.5)  # a second copy of anything would arrive now
    finally:
        for client in clients:
            await client.close()

    to_rasa = Counter(m["message"] for m in slow_rasa.received)
    assert [text for text, n in to_rasa.items() if n > 1] == [] and len(to_rasa) == 40
    replies = Counter(r.json()["text"] for r in slow_api.requests)
    assert [text for text, n in replies.items() if n > 1] == [] and len(replies) == 40
    by_chat: dict[int, list[str]] = defaultdict(list)
    for request in slow_api.requests:
        by_chat[request.json()["chat_id"]].append(request.json()["text"])
    assert by_chat == {chat: [f"echo {text}" for text in texts] for chat, texts in sent.items()}, \
        "each person's replies in the order they wrote"
    work = [gateway.metrics.sent.labels("telegram")._value.get() for gateway in gateways]
    assert all(work) and sum(work) == 40, f"both gateways worked (replies sent: {work})"


async def test_a_killed_gateways_claim_lapses_and_another_gateway_answers(
        tmp_path: Path, slow_rasa: SlowRasa, slow_api: SlowApi) -> None:
    slow_rasa.delay = 600.0  # the first gateway's call never comes back
    async with running(tmp_path, slow_rasa.url, slow_api.url, GATEWAY_LEASE_SECONDS=4) as doomed:
        async with aiohttp.ClientSession() as session:
            assert await doomed.post(session, telegram_update(1, CHAT, "are you there?")) == 200
        await until(lambda: len(slow_rasa.started) == 1, what="the first gateway called Rasa")
        await doomed.stop(signal.SIGKILL)
    assert claims_held(tmp_path) == 1, "a killed gateway cannot release its claim"

    slow_rasa.delay = 0.0
    survivor = await serve(gateway_for(tmp_path, slow_rasa.url, GATEWAY_LEASE_SECONDS=4, **env(slow_api.url)))
    try:
        await asyncio.sleep(0.5)
        assert slow_rasa.started == ["are you there?"], "not taken while the claim may still be alive"
        (reply,) = await slow_api.wait_for(1, timeout=20)
        await settle(survivor)
    finally:
        await survivor.close()
    assert reply.json()["text"] == "echo are you there?"
    assert slow_rasa.started == ["are you there?"] * 2, "Rasa saw the message again: at least once after a kill"
    assert len(slow_api.requests) == 1 and claims_held(tmp_path) == 0
