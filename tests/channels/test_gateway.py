"""The gateway's own promises, with Telegram as the carrier: nothing lost through outages and
restarts, order kept, Rasa failures retried, operations endpoints, configuration errors."""

from __future__ import annotations

import asyncio
import json

import pytest

from channels import gateway as gateway_module
from channels.errors import ChannelError, ConfigError
from channels.keys import Keys, Secret
from channels.settings import Settings
from channels.store import GatewayStore
from tests.channels.conftest import SECRET, gateway_for, payload, serve, settle
from tests.channels.test_telegram import PATH, env, sign

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
    metrics = (await (await client.get("/metrics")).text())
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
    assert "gateway_rasa_failures_total 2.0" in await (await client.get("/metrics")).text()


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
    health = await (await client.get("/healthz")).json()
    assert health == {"status": "ok", "problems": [], "channels": ["telegram"], "inbox": 0, "outbox": 0,
                      "parked": {"inbox": 0, "outbox": 0},
                      "loops": {"inbox": "running", "outbox": "running", "retention": "running"}}
    await client.post(PATH, data=TEXT, headers=sign(b"", "valid"))
    await client.post(PATH, data=TEXT, headers=sign(b"", "valid"))
    await client.post(PATH, data=TEXT, headers=sign(b"", "forged"))
    await settle(client)
    text = await (await client.get("/metrics")).text()
    assert 'gateway_messages_in_total{channel="telegram"} 1.0' in text
    assert 'gateway_duplicates_total{channel="telegram"} 1.0' in text
    assert 'gateway_rejected_total{channel="telegram",status="401"} 1.0' in text
    assert 'gateway_reply_seconds_count{channel="telegram"} 1.0' in text


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


def test_store_forget_and_purge(tmp_path) -> None:
    store = GatewayStore(tmp_path / "g.sqlite3")
    keys = Keys(Secret(SECRET))
    conv = keys.pseudonym("telegram", "42")
    row = store.accept("k1", conv, "telegram", keys.seal({"a": 1}), now=100.0, expires=200.0)
    assert row is not None and store.accept("k1", conv, "telegram", b"", now=101.0, expires=201.0) is None
    store.complete_inbox(row, [(conv, "telegram", b"call")], [(conv, '{"text": "hi"}')], now=100.0,
                         options=(conv, ["/a"]))
    store.remember(conv, "telegram", keys.seal({"user_id": "42"}), now=100.0)
    other = keys.pseudonym("telegram", "43")
    store.remember(other, "telegram", b"x", now=100.0)
    assert store.forget(conv) == {"inbox": 1, "outbox": 1, "contacts": 1, "mailbox": 1, "options": 1}
    assert store.contact(conv) is None and store.contact(other) is not None
    assert store.accept("k1", conv, "telegram", b"", now=102.0, expires=202.0) is not None

    # retention: the done dedupe record expires; contacts idle past the limit go, recent stay
    (pending,) = store.due_inbox(1e9, (), 10)
    store.complete_inbox(pending.id, [], [], now=102.0)
    store.remember(keys.pseudonym("telegram", "44"), "telegram", b"y", now=10_000.0)
    removed = store.purge(now=10_050.0, keep_seconds=1000.0)
    assert removed == {"inbox": 1, "contacts": 1, "mailbox": 0, "parked": 0}
    assert store.contact(keys.pseudonym("telegram", "44")) is not None


def test_keys() -> None:
    keys = Keys(Secret(SECRET))
    assert keys.pseudonym("telegram", "42") == keys.pseudonym("telegram", "42")
    assert keys.pseudonym("telegram", "42") != keys.pseudonym("viber", "42")
    assert "42" not in keys.pseudonym("telegram", "42")[len("telegram-"):]
    assert keys.pseudonym("telegram", "42") != Keys(Secret(SECRET + "x")).pseudonym("telegram", "42")
    sealed = keys.seal({"user_id": "+447700900123"})
    assert b"447700900123" not in sealed and keys.open(sealed) == {"user_id": "+447700900123"}
    with pytest.raises(ChannelError, match="another GATEWAY_SECRET"):
        Keys(Secret(SECRET + "x")).open(sealed)
    assert repr(Secret("hunter2-hunter2-hunter2")) == "Secret('***')"
    assert "hunter2" not in f"{Secret('hunter2-hunter2-hunter2')}"


def test_settings_errors_say_what_to_set() -> None:
    with pytest.raises(ConfigError, match="set GATEWAY_SECRET"):
        Settings.from_env({})
    with pytest.raises(ConfigError, match="at least 16"):
        Settings.from_env({"GATEWAY_SECRET": "short"})
    with pytest.raises(ConfigError, match="GATEWAY_PORT must be a whole number"):
        Settings.from_env({"GATEWAY_SECRET": SECRET, "GATEWAY_PORT": "eighty"})
    settings = Settings.from_env({"GATEWAY_SECRET": SECRET})
    assert "test-gateway-secret" not in repr(settings)

