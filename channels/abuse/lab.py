"""What every probe shares: the gateways it may talk to, their fakes, markers and bounds.

A ``Target`` is one gateway deployment with its own fake Rasa and fake platform API. The probes
use three, each started on first use:

    main      every channel, GATEWAY_PUBLIC_URL set, the limits raised so that the functional
              probes are not throttled, a metrics token
    limits    the same with the default limits (the rate-limit and sign-in throttling probes)
    nopublic  GATEWAY_PUBLIC_URL unset (the cookie's Secure flag, Twilio's own URL)

The floods and the load runs start fresh deployments of their own (``Lab.deploy``).
"""

from __future__ import annotations

import asyncio
import itertools
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from channels.abuse.client import Console, Http, WebChat
from channels.abuse.fakes import FakePlatforms, FakeRasa, free_port
from channels.abuse.gateway import OPERATOR_PASSWORDS, REPO, Site
from channels.abuse.report import Flood
from channels.abuse.signing import METRICS_TOKEN

RELAXED = {"WEBCHAT_IP_RATE": "1000", "WEBCHAT_IP_BURST": "100000", "WEBCHAT_SESSION_RATE": "1000",
           "WEBCHAT_SESSION_BURST": "100000", "WEBCHAT_MAX_PENDING": "100000", "WEBCHAT_SESSION_PENDING": "100000",
           "CONSOLE_SIGNIN_FREE_FAILURES": "100000"}
TARGETS: dict[str, dict[str, str | None]] = {
    "main": {**RELAXED, "GATEWAY_METRICS_TOKEN": METRICS_TOKEN},
    "limits": {"GATEWAY_METRICS_TOKEN": METRICS_TOKEN},
    "nopublic": {**RELAXED, "GATEWAY_PUBLIC_URL": None},
}


@dataclass(frozen=True)
class Profile:
    """How much the run sends: ``short`` for CI, ``full`` for the report's counts."""

    name: str
    load_webhooks: int
    load_conversations: int
    load_rate: float  # webhooks a second in the runs with a fault (A sends as fast as it can)
    load_runs: tuple[str, ...]
    slow_messages: int  # run F
    backlog_messages: int  # run G
    backlog_rasa_seconds: float
    webchat_flood: int
    signin_flood: int
    flood_seconds: float
    burst: int  # rate-limit probes: POSTs from one session, and new sessions
    polls: int
    brute_force: int
    guesses: int
    timing_tries: int
    bomb_mb: int  # the four concurrent gzip bombs, each this many MB inflated


SHORT = Profile("short", load_webhooks=200, load_conversations=20, load_rate=25.0, load_runs=("A", "E", "F", "G"),
                slow_messages=40, backlog_messages=40, backlog_rasa_seconds=4.0, webchat_flood=300,
                signin_flood=150, flood_seconds=6.0, burst=60, polls=500, brute_force=30, guesses=40,
                timing_tries=8, bomb_mb=100)
FULL = Profile("full", load_webhooks=2000, load_conversations=200, load_rate=50.0,
               load_runs=("A", "B", "C", "D", "E", "F", "G"), slow_messages=40, backlog_messages=120,
               backlog_rasa_seconds=10.0, webchat_flood=1000, signin_flood=400, flood_seconds=12.0, burst=300,
               polls=500, brute_force=200, guesses=206, timing_tries=30, bomb_mb=250)


class Ports:
    """Ports for the fakes and gateways: consecutive from ``base``, or free ones chosen by the kernel."""

    def __init__(self, base: int | None = None) -> None:
        self._next = itertools.count(base) if base else None

    def take(self) -> int:
        return next(self._next) if self._next is not None else free_port()


@dataclass
class Target:
    site: Site
    rasa: FakeRasa
    api: FakePlatforms
    cases: dict[str, int] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.site.url

    @property
    def port(self) -> int:
        return self.site.port

    async def close(self) -> None:
        await self.site.close()
        await self.rasa.stop()
        await self.api.stop()


class Lab:
    def __init__(self, profile: Profile, python: str, ports: Ports, workdir: Path | None = None,
                 source: Path | None = None) -> None:
        self.profile = profile
        self.python = python
        self.source = source
        self.ports = ports
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="abuse-run-"))
        self.owns_workdir = workdir is None
        self.http = Http()
        self.targets: dict[str, Target] = {}
        self.deployments: list[Target] = []
        self._starting: dict[str, asyncio.Lock] = {}
        self._numbers = itertools.count(1)
        self._people = itertools.count(100)
        # what the probes sent to the main gateway: refused (must never reach Rasa) and accepted
        # (must reach it exactly once); checked together once every probe has run
        self.refused: set[str] = set()
        self.accepted: set[str] = set()
        self.floods: list[Flood] = []

    # names and numbers

    def marker(self, tag: str) -> str:
        """A text no other message of the run contains."""
        return f"Q{next(self._numbers):05d}{tag}"

    def number(self) -> int:
        """A platform message ID's number, unique in the run."""
        return next(self._numbers)

    def person(self) -> int:
        return next(self._people)

    # gateways

    async def target(self, name: str) -> Target:
        """The named deployment (TARGETS), started on first use."""
        lock = self._starting.setdefault(name, asyncio.Lock())
        async with lock:
            if name not in self.targets:
                self.targets[name] = await self.deploy(name, TARGETS[name])
        return self.targets[name]

    async def deploy(self, name: str, overrides: Mapping[str, str | None] | None = None,
                     rasa: FakeRasa | None = None, api: FakePlatforms | None = None, start: bool = True) -> Target:
        """A fresh deployment with its own fakes and var dir (stopped by ``close``)."""
        rasa = rasa or FakeRasa()
        api = api or FakePlatforms()
        await rasa.start(self.ports.take())
        await api.start(self.ports.take())
        var_dir = self.workdir / f"{name}-{len(self.deployments) + 1}"
        site = Site(name, var_dir, self.ports.take(), rasa.url, api.url, self.python, overrides,
                    source=self.source or REPO)
        target = Target(site, rasa, api)
        self.deployments.append(target)
        if start:
            await site.start()
        return target

    def webchat(self, target: Target, forwarded_for: str | None = None) -> WebChat:
        return WebChat(self.http, target.url, forwarded_for)

    async def operator(self, target: Target, name: str = "alice") -> Console:
        """A console signed in as ``name``."""
        console = Console(self.http, target.url)
        await console.login(name, OPERATOR_PASSWORDS[name])
        return console

    async def close(self, keep: bool = False) -> None:
        await asyncio.gather(*(target.close() for target in self.deployments), return_exceptions=True)
        await self.http.close()
        if self.owns_workdir and not keep:
            shutil.rmtree(self.workdir, ignore_errors=True)


async def settle(seconds: float = 0.3) -> None:
    """A short pause for work the gateway does after answering (a refused request has none)."""
    await asyncio.sleep(seconds)
