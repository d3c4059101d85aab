"""Retention and "delete my data" across the three stores the gateway reaches: its own, the case
store and Rasa's tracker store (laid out as Rasa's SQLTrackerStore makes it)."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from channels.cases import CaseStore
from channels.keys import Keys, Secret
from channels.retention import Retention
from channels.store import GatewayStore
from channels.supervision import LoopState
from channels.tracker import TrackerEvents
from tests.channels.test_tracker import EVENTS, count

T = TypeVar("T")
DAY = 86400.0
NOW = 100 * DAY


async def inline(fn: Callable[..., T], *args: Any) -> T:
    """The gateway runs store methods on its database thread; here they simply run."""
    return fn(*args)


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[tuple[GatewayStore, CaseStore, TrackerEvents, Path]]:
    tracker_path = tmp_path / "tracker.sqlite3"
    with sqlite3.connect(tracker_path) as db:
        db.execute(EVENTS)
    cases = CaseStore(f"sqlite:///{tmp_path / 'c.sqlite3'}", Keys(Secret("retention-test-secret-0123")))
    gateway = GatewayStore(tmp_path / "g.sqlite3")
    tracker = TrackerEvents(f"sqlite:///{tracker_path}")
    yield gateway, cases, tracker, tracker_path
    for store in (gateway, cases, tracker):
        store.close()


def person(gateway: GatewayStore, cases: CaseStore, tracker_path: Path, conversation: str, at: float) -> None:
    """Someone who wrote at ``at``: a contact, a mailbox reply, a case and tracker events."""
    gateway.remember(conversation, "webchat", b"sealed address", at)
    gateway.complete_inbox(None, [], [(conversation, json.dumps({"text": "hello"}))], at)
    cases.open_case(conversation, "webchat", "en", "documents", 6, "", [], "summary", [("person", "hi", at)], now=at)
    with sqlite3.connect(tracker_path) as db:
        db.execute("INSERT INTO events (sender_id, timestamp) VALUES (?, ?)", (conversation, at))


async def test_forget_reaches_every_store(stores, caplog) -> None:
    caplog.set_level(logging.INFO)
    gateway, cases, tracker, tracker_path = stores
    for conversation in ("webchat-a", "webchat-b"):
        person(gateway, cases, tracker_path, conversation, NOW)
    retention = Retention(gateway, cases, tracker, inline, retention_days=30, clock=lambda: NOW)
    removed = await retention.forget("webchat-a")
    assert removed == {"inbox": 0, "outbox": 0, "contacts": 1, "mailbox": 1, "options": 0, "cases": 1,
                       "tracker_events": 1}
    assert gateway.contact("webchat-a") is None and gateway.contact("webchat-b") is not None
    assert [c.conversation for c in cases.queue()] == ["webchat-b"]
    assert (count(tracker_path, "webchat-a"), count(tracker_path, "webchat-b")) == (0, 1)
    (event,) = [json.loads(r.getMessage()) for r in caplog.records if "data_deleted" in r.getMessage()]
    assert event["conversation"] == "webchat-a" and event["cases"] == 1


async def test_purge_keeps_the_retention_period(stores) -> None:
    gateway, cases, tracker, tracker_path = stores
    person(gateway, cases, tracker_path, "webchat-old", NOW - 40 * DAY)
    person(gateway, cases, tracker_path, "webchat-new", NOW - 2 * DAY)
    retention = Retention(gateway, cases, tracker, inline, retention_days=30, clock=lambda: NOW)
    removed = await retention.purge()
    assert removed == {"inbox": 0, "contacts": 1, "mailbox": 1, "parked": 0, "cases": 0, "tracker_events": 1}
    assert gateway.contact("webchat-old") is None and gateway.contact("webchat-new") is not None
    assert len(cases.queue()) == 2, "open cases stay, however old: the hotline has not answered yet"


async def test_without_a_tracker_store_the_rest_is_still_deleted(stores) -> None:
    gateway, cases, _, tracker_path = stores
    person(gateway, cases, tracker_path, "webchat-a", NOW)
    retention = Retention(gateway, cases, None, inline, retention_days=30, clock=lambda: NOW)
    removed = await retention.forget("webchat-a")
    assert "tracker_events" not in removed and removed["cases"] == 1
    assert "tracker_events" not in await retention.purge()


async def test_the_loop_purges_and_reports_each_round(stores, monkeypatch) -> None:
    import asyncio

    from channels import retention as retention_module

    monkeypatch.setattr(retention_module, "PURGE_EVERY", 0.01)
    gateway, cases, tracker, _ = stores
    rounds: list[float] = []
    retention = Retention(gateway, cases, tracker, inline, retention_days=30, clock=lambda: rounds.append(NOW) or NOW)
    state = LoopState("retention")
    state.failed("OperationalError")
    task = asyncio.create_task(retention.loop(state))
    for _ in range(500):
        if len(rounds) >= 3 or task.done():
            break
        await asyncio.sleep(0.01)
    assert len(rounds) >= 3, task
    task.cancel()
    assert state.failures == 0 and state.failing_since is None, "a round that went well clears the failure"
