"""The caching SQL tracker store returns what Rasa's own SQL store returns, and notices rows
changed by anyone else (another Rasa process, the gateway's deletion and retention)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.plugins.tracker_store import CachedSQLTrackerStore
from bot.runtime import domain_dir
from channels.tracker import TrackerEvents

DOMAIN = Domain.load(str(domain_dir()))


def _turn(text: str, intent: str = "ask_question") -> list:  # type: ignore[type-arg]
    return [UserUttered(text, intent={"name": intent, "confidence": 0.9}),
            SlotSet("language", "en"), BotUttered(f"reply to {text}"), ActionExecuted("action_listen")]


def _session() -> list:  # type: ignore[type-arg]
    return [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")]


def _stores(tmp_path: Path, **kwargs: float) -> tuple[CachedSQLTrackerStore, SQLTrackerStore]:
    db = str(tmp_path / "tracker.sqlite3")
    return (CachedSQLTrackerStore(DOMAIN, dialect="sqlite", db=db, **kwargs),
            SQLTrackerStore(DOMAIN, dialect="sqlite", db=db))


def _dump(tracker: DialogueStateTracker | None) -> list[dict] | None:  # type: ignore[type-arg]
    if tracker is None:
        return None
    return [e.as_dict() for e in tracker.events]


async def _reply(store: SQLTrackerStore, sender: str, text: str) -> None:
    """What Rasa does for a message: retrieve, append the turn's events, save."""
    tracker = await store.retrieve(sender)
    if tracker is None:
        tracker = DialogueStateTracker.from_events(sender, _session(), DOMAIN.slots)
    for event in _turn(text):
        tracker.update(event)
    await store.save(tracker)


async def test_a_conversation_is_served_from_memory_and_matches_rasas_store(tmp_path: Path) -> None:
    cached, plain = _stores(tmp_path)
    for text in ("hello", "my employer took my passport", "and my children?"):
        await _reply(cached, "alice", text)
    tracker = await cached.retrieve("alice")
    assert _dump(tracker) == _dump(await plain.retrieve("alice"))
    assert tracker is not None and tracker.get_slot("language") == "en"
    assert tracker.latest_message is not None and tracker.latest_message.text == "and my children?"
    assert cached.misses == 1 and cached.hits == 3  # only the first, before anything was saved


async def test_rows_deleted_by_the_gateway_are_not_served_from_memory(tmp_path: Path) -> None:
    cached, _ = _stores(tmp_path)
    await _reply(cached, "bob", "delete my data")
    assert await cached.retrieve("bob") is not None
    assert TrackerEvents(f"sqlite:///{tmp_path / 'tracker.sqlite3'}").forget("bob") > 0
    assert await cached.retrieve("bob") is None
    await _reply(cached, "bob", "hello again")
    tracker = await cached.retrieve("bob")
    assert tracker is not None and [e.text for e in tracker.events if isinstance(e, UserUttered)] == ["hello again"]


async def test_retention_purge_is_noticed(tmp_path: Path) -> None:
    cached, plain = _stores(tmp_path)
    await _reply(cached, "carol", "first")
    TrackerEvents(f"sqlite:///{tmp_path / 'tracker.sqlite3'}").purge(time.time() + 1)
    assert await cached.retrieve("carol") is None
    assert await plain.retrieve("carol") is None


async def test_events_written_by_another_process_are_read(tmp_path: Path) -> None:
    cached, plain = _stores(tmp_path)
    await _reply(cached, "dan", "one")
    await _reply(plain, "dan", "two")  # a second Rasa process answered in between
    tracker = await cached.retrieve("dan")
    assert _dump(tracker) == _dump(await plain.retrieve("dan"))
    assert [e.text for e in tracker.events if isinstance(e, UserUttered)] == ["one", "two"]  # type: ignore[union-attr]
    await _reply(cached, "dan", "three")
    assert _dump(await cached.retrieve("dan")) == _dump(await plain.retrieve("dan"))


async def test_a_new_session_keeps_only_its_events_like_rasa(tmp_path: Path) -> None:
    cached, plain = _stores(tmp_path)
    await _reply(cached, "erin", "old session")
    tracker = await cached.retrieve("erin")
    assert tracker is not None
    for event in [*_session(), *_turn("new session")]:
        tracker.update(event)
    await cached.save(tracker)
    ours, rasas = await cached.retrieve("erin"), await plain.retrieve("erin")
    assert _dump(ours) == _dump(rasas)
    assert [e.text for e in ours.events if isinstance(e, UserUttered)] == ["new session"]  # type: ignore[union-attr]


async def test_memory_is_bounded_in_time_and_size(tmp_path: Path) -> None:
    cached, _ = _stores(tmp_path, cache_size=1)
    await _reply(cached, "f1", "hi")
    await _reply(cached, "f2", "hi")
    assert list(cached._cache) == ["f2"]
    expiring, _ = _stores(tmp_path, cache_seconds=0)
    await _reply(expiring, "g", "hi")
    time.sleep(0.01)
    assert await expiring.retrieve("g") is not None
    assert expiring.hits == 0 and expiring.misses == 2


@pytest.mark.parametrize("kind", ["bot.plugins.tracker_store.CachedSQLTrackerStore", "knowledge.nowhere.Store"])
def test_run_checks_that_rasa_can_load_the_store(kind: str) -> None:
    from bot.runtime import RuntimeProblem, _check_tracker_store

    endpoints = f"tracker_store:\n  type: {kind}\n"
    if kind.startswith("knowledge.nowhere"):
        with pytest.raises(RuntimeProblem, match="cannot be loaded"):
            _check_tracker_store(endpoints)
    else:
        _check_tracker_store(endpoints)


def test_creating_the_store_installs_the_action_result_speed_up(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rasa.core.actions.action import RemoteAction

    from bot.plugins import speedups

    monkeypatch.setattr(RemoteAction, "_validate_action_result", speedups._ORIGINAL)
    _stores(tmp_path)
    assert RemoteAction._validate_action_result is speedups.validate_action_result
