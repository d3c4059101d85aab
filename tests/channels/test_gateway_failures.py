"""The gateway's failure paths, from the code review's two probes: a message it cannot open (the
secret changed while it waited) must not block the person for ever nor spin, and a transient
database error must not end a background loop. /healthz must say when a loop is down or a queue
is stuck, and say "ok" again once it recovers."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from channels import gateway as gateway_module
from channels import retention, supervision
from channels.gateway import PARK_AFTER, Gateway
from channels.keys import Keys, Secret
from tests.channels.conftest import METRICS_AUTH, assert_not_logged, gateway_of, settle
from tests.channels.platforms.test_telegram import PATH, USER, env, sign
from tests.channels.test_gateway import update

OLD_SECRET = "the-secret-before-rotation-0123"
WAITING_TEXT = "they locked me in the house"


@pytest.fixture(autouse=True)
def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    """Short pauses, so that five tries and a restart take a fraction of a second."""
    monkeypatch.setattr(gateway_module, "backoff", lambda attempts: 0.05)
    monkeypatch.setattr(supervision, "RESTART_FIRST", 0.05)
    monkeypatch.setattr(supervision, "RESTART_MAX", 0.2)


def events(caplog: pytest.LogCaptureFixture, name: str) -> list[dict[str, Any]]:
    found = [json.loads(r.getMessage()) for r in caplog.records if r.name == "channels"]
    return [event for event in found if event["event"] == name]


async def until(condition: Callable[[], Any], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not await _call(condition):
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def _call(condition: Callable[[], Any]) -> Any:
    result = condition()
    return await result if asyncio.iscoroutine(result) else result


async def health(client: TestClient) -> tuple[int, dict[str, Any]]:
    response = await client.get("/healthz", headers=METRICS_AUTH)
    return response.status, await response.json()


def sealed_before_rotation(gateway: Gateway, text: str) -> tuple[str, bytes]:
    """The person's conversation, and a message of theirs sealed under the previous secret."""
    old = Keys(Secret(OLD_SECRET))
    message = {"channel": "telegram", "message_id": "1", "user_id": USER, "kind": "text", "text": text}
    return gateway.keys.pseudonym("telegram", USER), old.seal(message)


def count_opens(gateway: Gateway) -> list[bytes]:
    """Every token ``keys.open`` is asked to open, in order."""
    opened: list[bytes] = []
    real = gateway.keys.open

    def counting(token: bytes) -> dict[str, Any]:
        opened.append(token)
        return real(token)

    gateway.keys.open = counting  # type: ignore[method-assign]
    return opened


# probe 1: a poison message


async def test_a_message_that_cannot_be_opened_is_parked_and_the_next_one_answered(
        started, fake_api, fake_rasa, caplog) -> None:
    caplog.set_level(logging.INFO)
    client = await started(env(fake_api.url))
    gateway = gateway_of(client)
    opened = count_opens(gateway)
    conversation, poison = sealed_before_rotation(gateway, WAITING_TEXT)
    now = time.time()
    poison_id = await gateway.db(gateway.store.accept, "old-key", conversation, "telegram", poison, now, now + 86400)
    # the same person writes again after the secret changed
    assert (await client.post(PATH, data=update(1, "is anyone there?"), headers=sign(b"", "valid"))).status == 200

    (request,) = await fake_api.wait_for(1)
    await settle(client)
    assert request.json()["text"] == "reply 1"
    assert [m["message"] for m in fake_rasa.received] == ["is anyone there?"]
    assert await gateway.db(gateway.store.inbox_status, poison_id) == "failed"
    assert opened.count(poison) == PARK_AFTER, "tried a few times with pauses, not thousands of times"

    (parked,) = events(caplog, "parked")
    assert (parked["queue"], parked["channel"], parked["error"], parked["failures"]) == (
        "inbox", "telegram", "SealError", PARK_AFTER)
    assert "keys.py" in parked["where"]
    assert len(events(caplog, "processing_failed")) == PARK_AFTER - 1
    assert_not_logged(caplog, WAITING_TEXT, USER, "is anyone there")

    (row,) = await gateway.db(gateway.store.parked)
    assert (row.queue, row.id, row.channel, row.failures, row.reason) == ("inbox", poison_id, "telegram",
                                                                          PARK_AFTER, "SealError")
    metrics = await (await client.get("/metrics", headers=METRICS_AUTH)).text()
    assert 'gateway_parked_total{channel="telegram",queue="inbox"} 1.0' in metrics
    assert 'gateway_parked_rows{queue="inbox"} 1.0' in metrics
    assert f'gateway_processing_failures_total{{channel="telegram",queue="inbox"}} {PARK_AFTER}.0' in metrics
    status, report = await health(client)
    assert status == 200 and report["parked"] == {"inbox": 1, "outbox": 0}, "parked is not stuck"


async def test_a_reply_that_cannot_be_opened_is_parked_and_the_next_one_sent(
        started, fake_api, fake_rasa, caplog) -> None:
    caplog.set_level(logging.INFO)
    client = await started(env(fake_api.url))
    gateway = gateway_of(client)
    conversation = gateway.keys.pseudonym("telegram", USER)
    poison = Keys(Secret(OLD_SECRET)).seal({"path": "sendMessage", "json": {"chat_id": USER, "text": "old"}})
    await gateway.db(gateway.store.complete_inbox, None, [(conversation, "telegram", poison)], [], time.time())
    await client.post(PATH, data=update(2, "hello"), headers=sign(b"", "valid"))

    (request,) = await fake_api.wait_for(1)
    await settle(client)
    assert request.json()["text"] == "reply 1", "the later reply went out; the unreadable one never did"
    (row,) = await gateway.db(gateway.store.parked)
    assert (row.queue, row.reason, row.failures) == ("outbox", "SealError", PARK_AFTER)
    (parked,) = events(caplog, "parked")
    assert (parked["queue"], parked["error"]) == ("outbox", "SealError")
    assert await gateway.db(gateway.store.backlog) == 0


async def test_rasa_being_down_is_not_a_poison_message(started, fake_api, fake_rasa, caplog) -> None:
    caplog.set_level(logging.INFO)
    fake_rasa.fail_next = PARK_AFTER + 2
    client = await started(env(fake_api.url))
    await client.post(PATH, data=update(3, "hello"), headers=sign(b"", "valid"))
    (request,) = await fake_api.wait_for(1)
    assert request.json()["text"] == "reply 1", "retried until Rasa answered, however many times"
    gateway = gateway_of(client)
    assert await gateway.db(gateway.store.parked) == []
    assert len(events(caplog, "rasa_unavailable")) == PARK_AFTER + 2 and events(caplog, "parked") == []


async def test_no_tight_loop_even_when_the_failure_cannot_be_recorded(
        started, fake_api, fake_rasa, monkeypatch, caplog) -> None:
    caplog.set_level(logging.INFO)
    monkeypatch.setattr(gateway_module, "backoff", lambda attempts: 0.25)
    client = await started(env(fake_api.url))
    gateway = gateway_of(client)
    opened = count_opens(gateway)
    conversation, poison = sealed_before_rotation(gateway, WAITING_TEXT)

    def locked(*args: Any) -> bool:
        raise sqlite3.OperationalError("database is locked")

    gateway.store.fail_inbox = locked  # type: ignore[method-assign]
    now = time.time()
    await gateway.db(gateway.store.accept, "old-key", conversation, "telegram", poison, now, now + 86400)
    gateway._wake_inbox.set()
    await asyncio.sleep(1.0)
    assert 2 <= opened.count(poison) <= 6, f"{opened.count(poison)} tries in one second"
    assert events(caplog, "failure_not_recorded")


# probe 2: a loop's death


async def test_a_transient_database_error_restarts_the_inbox_loop(started, fake_api, fake_rasa, caplog) -> None:
    caplog.set_level(logging.INFO)
    client = await started(env(fake_api.url))
    gateway = gateway_of(client)
    real = gateway.store.claim_inbox
    failed: list[int] = []

    def flaky(*args: Any) -> Any:
        if not failed:
            failed.append(1)
            raise sqlite3.OperationalError("database is locked")
        return real(*args)

    gateway.store.claim_inbox = flaky  # type: ignore[method-assign]
    await client.post(PATH, data=update(4, "hello"), headers=sign(b"", "valid"))
    (request,) = await fake_api.wait_for(1)
    assert request.json()["text"] == "reply 1" and failed == [1]
    (event,) = events(caplog, "loop_failed")
    assert (event["loop"], event["error"], event["failures"]) == ("inbox", "OperationalError", 1)
    assert "database is locked" not in json.dumps(event), "the class, never the message"
    metrics = await (await client.get("/metrics", headers=METRICS_AUTH)).text()
    assert 'gateway_loop_restarts_total{loop="inbox"} 1.0' in metrics
    await until(lambda: gateway.loops["inbox"].failures == 0)
    assert (await health(client))[0] == 200


async def test_every_loop_is_supervised(started, fake_api, fake_rasa, caplog, monkeypatch) -> None:
    caplog.set_level(logging.INFO)
    monkeypatch.setattr(retention, "PURGE_EVERY", 0.05)
    client = await started(env(fake_api.url))
    gateway = gateway_of(client)
    broken = {"claim_outbox": gateway.store.claim_outbox, "purge": gateway.store.purge}
    for name in broken:
        setattr(gateway.store, name, _raises(sqlite3.OperationalError("disk I/O error")))
    gateway._wake_outbox.set()
    await until(lambda: gateway.loops["outbox"].failures >= 2 and gateway.loops["retention"].failures >= 2)
    assert {e["loop"] for e in events(caplog, "loop_failed")} == {"outbox", "retention"}
    for name, real in broken.items():
        setattr(gateway.store, name, real)
    await until(lambda: gateway.loops["outbox"].failures == 0 and gateway.loops["retention"].failures == 0)


def _raises(exc: Exception) -> Callable[..., Any]:
    def fail(*args: Any) -> Any:
        raise exc

    return fail


async def test_spawned_tasks_that_fail_are_logged(started, fake_api, caplog) -> None:
    caplog.set_level(logging.INFO)
    client = await started(env(fake_api.url))
    gateway = gateway_of(client)

    async def broken() -> None:
        raise KeyError("+447700900123")

    gateway._spawn(broken())
    await until(lambda: not gateway._inflight)
    (event,) = events(caplog, "task_failed")
    assert event["error"] == "KeyError"
    assert_not_logged(caplog, "447700900123")


# /healthz


async def test_health_is_red_while_a_loop_keeps_failing_and_green_once_it_recovers(
        started, fake_api, fake_rasa) -> None:
    client = await started({**env(fake_api.url), "GATEWAY_LOOP_DOWN_AFTER_SECONDS": "0"})
    gateway = gateway_of(client)
    real = gateway.store.claim_inbox
    gateway.store.claim_inbox = _raises(sqlite3.OperationalError("database is locked"))  # type: ignore[method-assign]
    gateway._wake_inbox.set()
    await until(lambda: gateway.loops["inbox"].failures >= 1)
    status, report = await health(client)
    assert status == 503 and report["status"] == "unhealthy"
    assert report["loops"]["inbox"] == "restarting"
    assert any(p.startswith("the inbox loop keeps failing (OperationalError") for p in report["problems"])

    gateway.store.claim_inbox = real  # type: ignore[method-assign]
    await until(lambda: gateway.loops["inbox"].failures == 0)
    status, report = await health(client)
    assert (status, report["status"], report["problems"]) == (200, "ok", [])


async def test_health_is_red_when_a_loop_has_stopped(started, fake_api) -> None:
    client = await started(env(fake_api.url))
    gateway = gateway_of(client)
    assert (await health(client))[0] == 200
    task = gateway.loops["outbox"].task
    assert task is not None
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    status, report = await health(client)
    assert status == 503 and report["problems"] == ["the outbox loop is not running"]
    assert report["loops"]["outbox"] == "stopped"


async def test_health_is_red_while_a_message_waits_too_long(started, fake_api, fake_rasa) -> None:
    fake_rasa.fail_next = 10**6
    client = await started({**env(fake_api.url), "GATEWAY_STUCK_AFTER_SECONDS": "0.3"})
    await client.post(PATH, data=update(5, "hello"), headers=sign(b"", "valid"))
    await asyncio.sleep(0.5)
    status, report = await health(client)
    assert status == 503 and report["inbox"] == 1
    (problem,) = report["problems"]
    assert problem.startswith("inbox stuck: a message has waited for an answer for")

    fake_rasa.fail_next = 0
    await fake_api.wait_for(1)
    await settle(client)
    status, report = await health(client)
    assert (status, report["problems"], report["inbox"]) == (200, [], 0)


async def test_health_is_red_while_a_reply_waits_too_long(started, fake_api, fake_rasa) -> None:
    fake_api.script = [(503, {}, {"ok": False})] * 10**4
    client = await started({**env(fake_api.url), "GATEWAY_STUCK_AFTER_SECONDS": "0.3"})
    await client.post(PATH, data=update(6, "hello"), headers=sign(b"", "valid"))
    await fake_api.wait_for(1)
    await asyncio.sleep(0.5)
    status, report = await health(client)
    assert status == 503 and report["outbox"] == 1
    assert [p.split(":")[0] for p in report["problems"]] == ["outbox stuck"]

    fake_api.script = []
    await settle(client)
    status, report = await health(client)
    assert (status, report["problems"], report["outbox"]) == (200, [], 0)


async def test_health_is_red_when_the_database_cannot_be_read(started, fake_api) -> None:
    client = await started(env(fake_api.url))
    gateway = gateway_of(client)
    gateway.store.stats = _raises(sqlite3.DatabaseError("file is not a database"))  # type: ignore[method-assign]
    status, report = await health(client)
    assert status == 503 and report["problems"] == ["the gateway database cannot be read (DatabaseError)"]
