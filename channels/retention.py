"""What the gateway deletes, and when: everything older than RETENTION_DAYS, every hour, and
everything about one person at once when they ask ("delete my data", a ``forget`` directive).

Three stores hold something about a person: the gateway's own (inbox, outbox, contacts, web chat
mailbox, numbered options), the case store (hotline cases and their transcripts) and, when
TRACKER_DB_URL reaches it, Rasa's tracker store (the conversation's events). Each store knows
how to delete its part; this module is the one place that reaches all three.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from channels.cases import CaseStore
from channels.observability import log_event, short
from channels.store import GatewayStore
from channels.supervision import LoopState
from channels.tracker import TrackerEvents

T = TypeVar("T")
PURGE_EVERY = 3600.0  # seconds between two purges


class Runner(Protocol):
    """Runs a store method away from the event loop (the gateway's database thread)."""

    def __call__(self, fn: Callable[..., T], *args: Any) -> Awaitable[T]: ...


class Retention:
    def __init__(self, store: GatewayStore, cases: CaseStore, tracker: TrackerEvents | None, run: Runner,
                 retention_days: float, clock: Callable[[], float]) -> None:
        self.store = store
        self.cases = cases
        self.tracker = tracker
        self.run = run
        self.keep_seconds = retention_days * 86400
        self.clock = clock

    async def purge(self) -> dict[str, int]:
        """Delete what is older than the retention period in every store; how much went, per kind."""
        now = self.clock()
        removed = await self.run(self.store.purge, now, self.keep_seconds)
        removed.update(await self.run(self.cases.purge, now - self.keep_seconds))
        if self.tracker is not None:
            removed["tracker_events"] = await self.run(self.tracker.purge, now - self.keep_seconds)
        return removed

    async def forget(self, conversation: str) -> dict[str, int]:
        """Delete everything about one conversation in every store: "delete my data"."""
        removed = await self.run(self.store.forget, conversation)
        removed["cases"] = await self.run(self.cases.forget, conversation)
        if self.tracker is not None:
            removed["tracker_events"] = await self.run(self.tracker.forget, conversation)
        log_event("data_deleted", conversation=short(conversation), **removed)
        return removed

    async def loop(self, state: LoopState) -> None:
        """Purge now and then every PURGE_EVERY seconds (run under the gateway's supervisor)."""
        while not state.stopping:
            removed = await self.purge()
            if any(removed.values()):
                log_event("retention_purge", **removed)
            state.beat()
            await asyncio.sleep(PURGE_EVERY)
