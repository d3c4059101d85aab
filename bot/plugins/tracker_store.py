"""Rasa's SQL tracker store, without rebuilding each conversation from its rows on every message.

Why: Rasa reads a conversation's events back from the database for every message and turns
each stored row into an event object again (about 85 us an event here, so 25-40 ms per message
once a conversation has a few hundred events), although the same process wrote those rows a
moment before. Applying events to a new tracker costs about 2 us each.

This store keeps the event objects of recent conversations in memory, with a fingerprint of
the conversation's rows (their number and highest ID), and on each message checks only the
fingerprint, one indexed query. Anything that changed the rows behind its back (another Rasa
process, "delete my data" and the retention limit from the channels gateway) changes the
fingerprint, and the conversation is read from the database as before. The rows stay the
record: nothing is written differently, and what a retrieval returns is what Rasa's own
retrieval returns (the events since the latest session start).

Entries leave memory after ``cache_seconds`` without a message (default 600) or when more than
``cache_size`` conversations are held (default 256), so a deleted conversation's events do not
stay in this process's memory longer than that.

Used from ``bot/endpoints.yml`` as ``type: bot.plugins.tracker_store.CachedSQLTrackerStore``
with the same settings as ``type: SQL``. Rasa falls back to an in-memory store, with only a
warning, if a custom store cannot be imported; ``rights run`` therefore checks the import first.
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import Event, SessionStarted, deserialise_events
from rasa.shared.core.trackers import DialogueStateTracker

from bot.plugins import speedups


@dataclass
class _Conversation:
    fingerprint: tuple[int, int]  # (rows, highest row ID) for the sender, all sessions
    events: list[Event]  # the events since the latest session start, as Rasa retrieves them
    used: float


def latest_session(events: list[Event]) -> list[Event]:
    """The events Rasa's SQL retrieval returns: those stamped at or after the latest
    ``session_started`` (all of them if there is none)."""
    starts = [e.timestamp for e in events if isinstance(e, SessionStarted)]
    if not starts:
        return list(events)
    start = max(starts)
    return [e for e in events if e.timestamp >= start]


class CachedSQLTrackerStore(SQLTrackerStore):
    """``SQLTrackerStore`` that reuses the event objects of a conversation it has just saved."""

    def __init__(self, *args: Any, cache_size: int = 256, cache_seconds: float = 600, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        speedups.install()  # the Rasa server always creates its tracker store
        self.cache_size = int(cache_size)
        self.cache_seconds = float(cache_seconds)
        self._cache: OrderedDict[str, _Conversation] = OrderedDict()
        self._added: dict[str, int] = {}
        self.hits = 0
        self.misses = 0

    def _fingerprint(self, session: Any, sender_id: str) -> tuple[int, int]:
        rows, highest = session.query(sa.func.count(self.SQLEvent.id), sa.func.max(self.SQLEvent.id)).filter(
            self.SQLEvent.sender_id == sender_id).one()
        return int(rows), int(highest or 0)

    def _expire(self, now: float) -> None:
        while self._cache:
            sender, oldest = next(iter(self._cache.items()))
            if len(self._cache) <= self.cache_size and now - oldest.used <= self.cache_seconds:
                break
            del self._cache[sender]

    def _remember(self, sender_id: str, fingerprint: tuple[int, int], events: list[Event]) -> None:
        now = time.monotonic()
        self._cache[sender_id] = _Conversation(fingerprint, events, now)
        self._cache.move_to_end(sender_id)
        self._expire(now)

    def forget(self, sender_id: str) -> None:
        self._cache.pop(sender_id, None)

    async def _retrieve(self, sender_id: str, fetch_events_from_all_sessions: bool) -> DialogueStateTracker | None:
        if fetch_events_from_all_sessions or not self.domain:
            return await super()._retrieve(sender_id, fetch_events_from_all_sessions)
        self._expire(time.monotonic())
        with self.session_scope() as session:
            fingerprint = self._fingerprint(session, sender_id)
            cached = self._cache.get(sender_id)
            if cached is not None and cached.fingerprint == fingerprint:
                self.hits += 1
                events = cached.events
            else:
                self.misses += 1
                rows = self._event_query(session, sender_id, fetch_events_from_all_sessions=False).all()
                events = deserialise_events([json.loads(row.data) for row in rows])
        if not events:
            self.forget(sender_id)
            return None
        self._remember(sender_id, fingerprint, events)
        return DialogueStateTracker.from_events(sender_id, list(events), self.domain.slots)

    def _additional_events(self, session: Any, tracker: DialogueStateTracker) -> Any:
        new = list(super()._additional_events(session, tracker))
        self._added[tracker.sender_id] = len(new)
        return iter(new)

    async def save(self, tracker: DialogueStateTracker) -> None:
        sender = tracker.sender_id
        before = self._cache.get(sender)
        await super().save(tracker)
        added = self._added.pop(sender, None)
        with self.session_scope() as session:
            after = self._fingerprint(session, sender)
        expected_rows = (before.fingerprint[0] if before else 0) + (added or 0)
        if added is None or after[0] != expected_rows:
            # someone else wrote or deleted rows meanwhile: read them from the database next time
            self.forget(sender)
            return
        self._remember(sender, after, latest_session(list(tracker.events)))
