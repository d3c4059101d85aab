"""Background loops that cannot die silently.

A gateway loop (the inbox, the outbox, retention) runs under ``supervise``: when it raises, the
error is logged (its class and line, never its message), the loop waits (0.5 s, doubling up to
30 s while it keeps failing) and starts again. The loop calls ``LoopState.beat`` after every round
that went well, which is how /healthz tells a loop that recovered from one that keeps failing.
A loop that raised once and went on is healthy; one that keeps failing for longer than the
gateway's ``loop_down_after_seconds``, or whose task has ended, is not.

``LoopState.stop`` ends a loop for good (the gateway stopping): the loop's task is cancelled, and
the flag it sets is what the loop and its supervisor check, so that even a cancel lost inside a
library call cannot keep the loop going.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from prometheus_client import Counter

from channels.observability import failure, log_event

# A loop that raised starts again after 0.5 s, then 1, 2, 4, ... up to 30 s while it keeps failing.
RESTART_FIRST, RESTART_MAX = 0.5, 30.0


def restart_delay(failures: int) -> float:
    """Seconds before a failed loop starts again, after its ``failures``-th failure in a row."""
    return float(min(RESTART_FIRST * 2 ** max(0, failures - 1), RESTART_MAX))


@dataclass
class LoopState:
    """One supervised loop, as /healthz sees it."""

    name: str
    task: asyncio.Task[None] | None = None
    failures: int = 0  # in a row
    failing_since: float | None = None  # time.monotonic() of the first of them
    error: str = ""
    stopping: bool = False  # set by stop(): the loop starts no new round

    def stop(self) -> None:
        """End the loop: no new round starts, and the round under way is cancelled."""
        self.stopping = True
        if self.task is not None:
            self.task.cancel()

    def beat(self) -> None:
        """A round went well: whatever failed before has recovered."""
        self.failures, self.failing_since, self.error = 0, None, ""

    def failed(self, error: str) -> None:
        self.failures += 1
        self.error = error
        if self.failing_since is None:
            self.failing_since = time.monotonic()

    @property
    def status(self) -> str:
        if self.task is None or self.task.done():
            return "stopped"
        return "restarting" if self.failing_since is not None else "running"

    def problem(self, down_after: float) -> str | None:
        """Why this loop is unhealthy, or None."""
        if self.status == "stopped":
            return f"the {self.name} loop is not running"
        if self.failing_since is not None and time.monotonic() - self.failing_since >= down_after:
            return f"the {self.name} loop keeps failing ({self.error}, {self.failures} restarts)"
        return None


Body = Callable[[LoopState], Awaitable[None]]


def start(state: LoopState, body: Body, restarts: Counter | None = None) -> asyncio.Task[None]:
    """Run ``body`` under ``supervise`` in a task of its own, recorded in ``state``."""
    state.task = asyncio.create_task(supervise(state, body, restarts), name=f"gateway-{state.name}")
    return state.task


async def supervise(state: LoopState, body: Body, restarts: Counter | None = None) -> None:
    """Run a background loop for as long as the gateway runs: when it raises, log, wait, restart."""
    while not state.stopping:
        fields: dict[str, Any]
        try:
            await body(state)
            fields = {"error": "returned"}  # a loop never ends on its own; start it again all the same
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            fields = failure(exc)
        if state.stopping:
            return
        state.failed(fields["error"])
        delay = restart_delay(state.failures)
        if restarts is not None:
            restarts.labels(state.name).inc()
        log_event("loop_failed", logging.ERROR, loop=state.name, failures=state.failures, restart_in=delay,
                  **fields)
        await asyncio.sleep(delay)
