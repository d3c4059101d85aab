"""The gateway's own promises, with Telegram as the carrier: nothing lost through outages and
restarts, order kept, Rasa failures retried, operations endpoints. Its failure paths are in
test_gateway_failures.py, hotline handoff and deletion in test_gateway_handoff.py."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from channels import gateway as gateway_module
from channels.models import Inbound
from tests.channels.conftest import METRICS_AUTH, gateway_for, payload, serve, settle
from tests.channels.platforms.test_telegram import PATH, env, sign

TEXT = payload("telegram", "text.json")


def update(n: int, text: str = "hello") -> bytes:
    body = json.loads(TEXT)
    body["update_id"] = 900000 + n
    body["message"]["text"] = text
    return json.dumps(body).encode()


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gateway_module, "backoff", lambda attempts: 0.05)


async def test_outage_then_recovery_loses_nothing_and_keeps_order(started, fake_api, fake_rasa) -> None:
    fake_api.script = [(500, {}, {"ok": False})] * 3 + [(503, {}, {"ok": False})]
    client = await started(env(fake_api.url))
    for n in range(3):
        assert (await client.post(PATH, data=update(n, f"question {n}"), headers=sign(b"", "valid"))).status == 200
    await settle(client, timeout=15)
    assert len(fake_api.requests) == 7
    delivered = [r.json()["text"] for r in fake_api.requests[4:]]
    assert delivered == ["reply 1", "reply 2", "reply 3"], "each reply once, in order, after the outage"
    assert [m["message"] for m in fake_rasa.received] == ["question 0", "question 1", "question 2"]
    metrics = (await (await client.get("/metrics", headers=METRICS_AUTH)).text())
    assert 'gateway_send_failures_total{channel="telegram",outcome="retry"} 4.0' in metrics
    assert 'gateway_messages_out_total{channel="telegram"} 3.0' in metrics


async def test_replies_survive_a_gateway_restart(tmp_path, fake_api, fake_rasa) -> None:
    down = env("http://127.0.0.1:9")  # nothing listens on the discard port: connection refused
    first = gateway_for(tmp_path, fake_rasa.url, **down)
    client = await serve(first)
    await client.post(PATH, data=update(1, "are you there?"), headers=sign(b"", "valid"))
    for _ in range(200):
        if await first.db(first.store.backlog) == 1 and fake_rasa.received:
            break
        await asyncio.sleep(0.02)
    await client.close()  # the platform is still down when the gateway stops
    assert fake_api.requests == []

    second = gateway_for(tmp_path, fake_rasa.url, **env(fake_api.url))
    client = await serve(second)
    try:
        (request,) = await fake_api.wait_for(1)
        assert request.json()["text"] == "reply 1" and request.json()["chat_id"] == 5512345678
        await settle(client)
        assert await second.db(second.store.backlog) == 0
        assert len(fake_rasa.received) == 1, "the message was not processed again"
    finally:
        await client.close()


async def test_rasa_down_then_up_the_message_waits_in_the_inbox(started, fake_api, fake_rasa) -> None:
    fake_rasa.fail_next = 2
    client = await started(env(fake_api.url))
    await client.post(PATH, data=update(7), headers=sign(b"", "valid"))
    (request,) = await fake_api.wait_for(1)
    assert request.json()["text"] == "reply 1"
    assert len(fake_rasa.received) == 1
    assert "gateway_rasa_failures_total 2.0" in await (await client.get("/metrics", headers=METRICS_AUTH)).text()


async def test_one_conversation_is_answered_in_order(started, fake_api, fake_rasa) -> None:
    client = await started(env(fake_api.url))
    await asyncio.gather(*[client.post(PATH, data=update(n, f"m{n}"), headers=sign(b"", "valid"))
                           for n in range(6)])
    await settle(client)
    got = [m["message"] for m in fake_rasa.received]
    assert sorted(got) == [f"m{n}" for n in range(6)]
    assert [r.json()["text"] for r in fake_api.requests] == [f"reply {n}" for n in range(1, 7)]


async def test_healthz_and_metrics(started, fake_api, fake_rasa) -> None:
    client = await started(env(fake_api.url))
    health = await (await client.get("/healthz", headers=METRICS_AUTH)).json()
    assert health == {"status": "ok", "problems": [], "channels": ["telegram"], "inbox": 0, "outbox": 0,
                      "parked": {"inbox": 0, "outbox": 0},
                      "loops": {"inbox": "running", "outbox": "running", "retention": "running",
                                "leases": "running"}}
    await client.post(PATH, data=TEXT, headers=sign(b"", "valid"))
    await client.post(PATH, data=TEXT, headers=sign(b"", "valid"))
    await client.post(PATH, data=TEXT, headers=sign(b"", "forged"))
    await settle(client)
    text = await (await client.get("/metrics", headers=METRICS_AUTH)).text()
    assert 'gateway_messages_in_total{channel="telegram"} 1.0' in text
    assert 'gateway_duplicates_total{channel="telegram"} 1.0' in text
    assert 'gateway_rejected_total{channel="telegram",status="401"} 1.0' in text
    assert 'gateway_reply_seconds_count{channel="telegram"} 1.0' in text




async def test_web_chat_replies_are_sealed_at_rest_and_older_clear_ones_still_read(tmp_path, fake_rasa) -> None:
    reply = "PRIVATE-REPLY-7731: the shelter on 5th street"
    fake_rasa.reply = lambda body: [{"recipient_id": body["sender"], "text": reply,
                                     "buttons": [{"title": "Yes", "payload": "/affirm"}]}]
    gateway = gateway_for(tmp_path, fake_rasa.url, WEBCHAT_ENABLED="true")
    client = await serve(gateway)
    session = "s3ss10n-0123456789abcdef"
    conversation = gateway.keys.pseudonym("webchat", session)
    try:
        row = await gateway.accept(Inbound("webchat", "m1", session, "text", "where can I sleep tonight?"))
        assert row is not None and await gateway.wait_processed(row, timeout=10)
        older = json.dumps({"text": "written by an older gateway", "buttons": []})
        await gateway.db(gateway.store.complete_inbox, None, [], [(conversation, older)], time.time())
        messages = await gateway.mailbox(conversation, 0)
        assert [message for _, message in messages] == [
            {"text": reply, "buttons": [{"title": "Yes", "payload": "/affirm"}]},
            {"text": "written by an older gateway", "buttons": []}]
        assert await gateway.mailbox(conversation, messages[0][0]) == messages[1:]
    finally:
        await client.close()
    for path in tmp_path.glob("gateway.sqlite3*"):  # the file, its -wal and -shm
        assert reply.split(":")[0].encode() not in path.read_bytes(), f"the reply is in clear in {path.name}"
