"""Checking operators' passwords without holding up the gateway.

A password check is scrypt (channels.cases.SCRYPT: about 36 ms and 16 MiB each). It runs on a
small pool of threads of its own, never on the gateway's database thread, which every webhook,
the inbox and the outbox wait on: a flood of sign-ins then slows sign-ins, and nothing else. At
most ``workers`` checks run and ``waiting`` more wait their turn; a sign-in beyond that is refused
at once (``Busy``, which the console answers with 429), so the queue never grows with the flood.

A check whose request goes away while it waits is taken out of the queue; one that has started
runs to its end (a thread cannot be stopped), so at most ``workers`` such checks can be in the
pool beyond the count.

``Lockouts`` remembers the lockouts the case store has reported until they end, so that a flood
of attempts on a locked account or address is refused without even a database call.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from channels import cases

WORKERS = 1  # scrypt releases the GIL: one thread leaves the other core to the event loop
WAITING = 8  # about 0.3 s of checks queued behind the running one
MAX_LOCKOUTS = 10_000  # lockouts remembered at once (the oldest remembered is dropped beyond)


class Busy(Exception):
    """Every password-check slot is taken: the sign-in may be tried again in a moment."""


class PasswordChecks:
    """A bounded pool for ``channels.cases.check_password``."""

    def __init__(self, workers: int = WORKERS, waiting: int = WAITING) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="console-password")
        self._limit = workers + waiting
        self._taken = 0

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one of the pool's places for a sign-in, from its first database call to the end of
        its check; Busy when there is none."""
        if self._taken >= self._limit:
            raise Busy
        self._taken += 1
        try:
            yield
        finally:
            self._taken -= 1

    async def check(self, password: str, stored: str) -> bool:
        """``password`` against the stored hash, on the pool (call it inside ``slot``)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, cases.check_password, password, stored)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


class Lockouts:
    """Lockouts the case store reported (throttle key -> until when), kept until they end.

    Only a mirror: the store's counters decide, and a lockout set by another gateway process is
    learnt from the store on the next attempt. A lockout that a successful sign-in lifts is
    forgotten here by that sign-in. At most ``max_keys`` are kept; beyond that the one remembered
    longest ago is dropped, and the store still holds it."""

    def __init__(self, max_keys: int = MAX_LOCKOUTS) -> None:
        self.max_keys = max_keys
        self._until: OrderedDict[str, float] = OrderedDict()

    def wait(self, keys: Iterable[str], now: float) -> float:
        """Seconds until none of ``keys`` is locked, as far as this process knows (0: none is)."""
        wait = 0.0
        for key in keys:
            until = self._until.get(key)
            if until is None:
                continue
            if until <= now:
                del self._until[key]
            else:
                wait = max(wait, until - now)
        return wait

    def remember(self, locked: Mapping[str, float]) -> None:
        for key, until in locked.items():
            if until > 0:
                self._until[key] = max(until, self._until.pop(key, 0.0))
        while len(self._until) > self.max_keys:
            self._until.popitem(last=False)

    def forget(self, keys: Iterable[str]) -> None:
        for key in keys:
            self._until.pop(key, None)

    def __len__(self) -> int:
        return len(self._until)
