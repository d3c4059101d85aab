"""The load and fault runs, and the two floods, each against a fresh gateway of its own.

A load run sends the profile's webhooks (2,000 in the full run) round-robin over the five
platforms to its conversations (ten messages each), every message with a unique marker. The
sender behaves like a platform: at most 50 requests at once, and a connection error or a 5xx is
sent again after 0.5 s with the same message ID. Meanwhile the run's fault happens:

    A  none, as fast as the gateway answers
    B  the fake Rasa dies at 25 % of the sending time and comes back at 75 %
    C  the gateway gets SIGTERM at 30 %, and is started again once it has exited
    D  the gateway gets SIGKILL at 30 %, and is started again
    E  SIGTERM at 30 %, and a new gateway is started 0.5 s later without waiting for the old one
    F  Rasa and the platforms' APIs answer in 3 s; SIGTERM once work is under way, and a new
       gateway 10 s later, while the old one may still be draining
    G  SIGTERM with a backlog and a slow Rasa: how long the gateway takes to exit, and how many
       calls it makes to Rasa after the signal; then a new gateway must deliver the rest.
       G' is the same signal to an idle gateway.

Then the run waits (bounded) until every accepted message has reached Rasa and every reply the
platform API, and counts: what reached Rasa once, twice, never; what was lost (answered 200 but
never reached Rasa or never answered); the webhook's answer time and the time to Rasa.

The floods measure what a WhatsApp user waits (webhook -> Rasa) while someone floods the web
chat or the console's sign-in form, with the fake Rasa serialised at 45 ms a message (about
22 a second). Target: p95 under 2 s.
"""

from __future__ import annotations

import asyncio
import math
import random
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from channels.abuse import signing
from channels.abuse.client import Console, Reply
from channels.abuse.fakes import FakePlatforms, FakeRasa
from channels.abuse.lab import Lab, Target
from channels.abuse.report import FAIL, PASS, RISK, Flood, LoadRun, Row
from channels.abuse.signing import Webhook

CONCURRENCY = 50
RESEND_AFTER = 0.5
SHUTDOWN_SECONDS = 10.0  # the gateway's default GATEWAY_SHUTDOWN_SECONDS
EXIT_MARGIN = 5.0  # what a clean exit may take beyond it
FLOOD_TARGET_MS = 2000.0
RASA_AT_22_PER_SECOND = 0.045


@dataclass
class Delivery:
    """One message's fate at the webhook: every attempt, the last status, and when."""

    index: int
    first_sent: float = 0.0
    status: int = 0
    answer_ms: float = 0.0
    failures: int = 0


@dataclass(frozen=True)
class Spec:
    run: str
    fault: str
    fast: bool = False  # A: no pacing
    strict: bool = True  # duplicates FAIL (else, where a process dies mid-call, they are a risk)


SPECS = {
    "A": Spec("A", "none, as fast as possible", fast=True),
    "B": Spec("B", "fake Rasa killed at 25 % of the sending, back at 75 %", strict=False),
    "C": Spec("C", "gateway SIGTERM at 30 %, started again once it exited"),
    "D": Spec("D", "gateway SIGKILL at 30 %, started again", strict=False),
    "E": Spec("E", "gateway SIGTERM at 30 %, a new one started 0.5 s later (overlap)"),
    "F": Spec("F", "Rasa and platform API slow (3 s); SIGTERM; a new gateway after 10 s while the old drains"),
}


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


def marker(run: str, index: int) -> str:
    return f"L{run}{index:05d}z"


def schedule(lab: Lab, run: str, count: int, conversations: int) -> list[Webhook]:
    """``count`` messages round-robin over the platforms to ``conversations`` people."""
    people = [lab.person() for _ in range(conversations)]
    hooks = []
    for i in range(count):
        conversation = i % conversations
        platform = signing.PLATFORMS[conversation % len(signing.PLATFORMS)]
        hooks.append(signing.webhook(platform, lab.number(), people[conversation], f"{marker(run, i)} load"))
    return hooks


async def deliver(lab: Lab, url: Callable[[], str], hook: Webhook, delivery: Delivery, give_up: float) -> None:
    """Send like a platform: again after 0.5 s on a connection error or a 5xx, same message ID."""
    delivery.first_sent = time.monotonic()
    while True:
        reply = await lab.http.post(url() + hook.path, data=hook.body, headers=hook.headers, timeout=30.0)
        delivery.status = reply.status
        if reply.status and reply.status < 500:
            delivery.answer_ms = reply.ms
            return
        delivery.failures += 1
        if time.monotonic() > give_up:
            return
        await asyncio.sleep(RESEND_AFTER)


async def send_all(lab: Lab, target: Target, hooks: list[Webhook], rate: float | None,
                   give_up_after: float) -> list[Delivery]:
    """Every hook, paced at ``rate`` a second (or as fast as answers come), at most 50 at once."""
    deliveries = [Delivery(i) for i in range(len(hooks))]
    slots = asyncio.Semaphore(CONCURRENCY)
    give_up = time.monotonic() + give_up_after
    started = time.monotonic()

    async def one(i: int) -> None:
        try:
            await deliver(lab, lambda: target.url, hooks[i], deliveries[i], give_up)
        finally:
            slots.release()

    tasks = []
    for i in range(len(hooks)):
        if rate:
            await asyncio.sleep(max(0.0, started + i / rate - time.monotonic()))
        await slots.acquire()
        tasks.append(asyncio.ensure_future(one(i)))
    await asyncio.gather(*tasks)
    return deliveries


async def drain(target: Target, markers: Sequence[str], timeout: float) -> bool:
    """Wait until every marker has reached Rasa and been answered at the platform API (False when
    ``timeout`` ran out first: what is missing then counts as lost)."""
    wanted = set(markers)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if wanted <= _seen(target.rasa.calls).keys() and wanted <= _seen(target.api.sent).keys():
            return True
        await asyncio.sleep(0.25)
    return False


MARKER = re.compile(r"L[A-G]\d{5}z")


def _seen(calls: Sequence[object]) -> Counter[str]:
    return Counter(m for call in calls for m in MARKER.findall(getattr(call, "text", "")))


def tally(run: str, fault: str, deliveries: list[Delivery], target: Target, strict: bool) -> LoadRun:
    """What happened to every message, as one line of the load table."""
    at_rasa, replied = _seen(target.rasa.calls), _seen(target.api.sent)
    first: dict[str, float] = {}
    for call in target.rasa.calls:
        for m in MARKER.findall(call.text):
            first.setdefault(m, call.at)
    accepted = [d for d in deliveries if d.status == 200]
    markers = [marker(run, d.index) for d in deliveries]
    lost = sum(1 for d in accepted if not at_rasa[marker(run, d.index)] or not replied[marker(run, d.index)])
    answers = [d.answer_ms for d in accepted]
    to_rasa = [(first[marker(run, d.index)] - d.first_sent) * 1000 for d in deliveries if marker(run, d.index) in first]
    result = LoadRun(
        run, fault, sent=len(deliveries), http_200=len(accepted), failed_attempts=sum(d.failures for d in deliveries),
        resent_requests=sum(1 for d in deliveries if d.failures), rasa_unique=sum(1 for m in markers if at_rasa[m]),
        rasa_twice=sum(1 for m in markers if at_rasa[m] > 1), lost=lost,
        replies_unique=sum(1 for m in markers if replied[m]), replies_twice=sum(1 for m in markers if replied[m] > 1),
        answer_ms=(percentile(answers, 50), percentile(answers, 95), percentile(answers, 99), max(answers, default=0)),
        to_rasa_ms=(percentile(to_rasa, 50), percentile(to_rasa, 95)))
    twice = (result.rasa_twice or 0) + (result.replies_twice or 0)
    if lost or result.http_200 != result.sent:
        result.verdict = FAIL
    elif twice:
        result.verdict = FAIL if strict else RISK
    else:
        result.verdict = PASS
    return result


# the runs


async def load_run(lab: Lab, run: str) -> LoadRun:
    if run == "G":
        return await backlog_run(lab)
    spec = SPECS[run]
    profile = lab.profile
    slow = run == "F"
    count = profile.slow_messages if slow else profile.load_webhooks
    conversations = count if slow else profile.load_conversations
    rasa = FakeRasa(delay=3.0 if slow else 0.0)
    api = FakePlatforms(delay=3.0 if slow else 0.0)
    target = await lab.deploy(f"load-{run}", rasa=rasa, api=api)
    try:
        hooks = schedule(lab, run, count, conversations)
        rate = None if spec.fast else (CONCURRENCY if slow else profile.load_rate)
        duration = count / rate if rate else 0.0
        notes: list[str] = []
        fault = asyncio.ensure_future(_fault(run, target, duration, notes))
        deliveries = await send_all(lab, target, hooks, rate, give_up_after=duration + 120)
        await fault
        bound = 120.0 if lab.profile.name == "full" else 60.0
        if not await drain(target, [marker(run, d.index) for d in deliveries if d.status == 200], bound):
            notes.append(f"counted {bound:.0f} s after the last send: what had not arrived by then is lost")
        result = tally(run, spec.fault, deliveries, target, spec.strict)
        result.note = "; ".join(notes)
        return result
    finally:
        await target.site.close()


async def _fault(run: str, target: Target, duration: float, notes: list[str]) -> None:
    """The run's fault, timed against its sending ``duration``."""
    site = target.site
    if run == "A":
        return
    if run == "B":
        await asyncio.sleep(duration * 0.25)
        target.rasa.kill()
        await asyncio.sleep(duration * 0.5)
        target.rasa.revive()
        notes.append(f"Rasa down {duration * 0.5:.1f} s")
        return
    if run == "F":
        await asyncio.sleep(duration + 2.0)  # every message sent, the first ones in Rasa's hands
        old = site.current
        old.term()
        exited = asyncio.ensure_future(old.wait(70.0))
        await asyncio.sleep(10.0)
        still = old.running
        await site.start()
        took = await exited
        notes.append(f"old gateway {'still running' if still else 'had exited'} when the new one started; "
                     f"it exited {took:.1f} s after SIGTERM" if took is not None else
                     "old gateway still running 70 s after SIGTERM")
        return
    await asyncio.sleep(duration * 0.3)
    old = site.current
    if run == "D":
        old.kill()
        started = time.monotonic()
        await site.start()
        notes.append(f"down {time.monotonic() - started:.1f} s")
    elif run == "C":
        took = await old.terminate(60.0)
        await site.start()
        notes.append(f"old gateway exited {took:.2f} s after SIGTERM" if took is not None
                     else "old gateway did not exit in 60 s (SIGKILL)")
    elif run == "E":
        old.term()
        exited = asyncio.ensure_future(old.wait(60.0))
        await asyncio.sleep(0.5)
        await site.start()
        took = await exited
        notes.append(f"old gateway exited {took:.2f} s after SIGTERM" if took is not None
                     else "old gateway still running 60 s after SIGTERM")


async def backlog_run(lab: Lab) -> LoadRun:
    """G: SIGTERM with a backlog and a slow Rasa; the exit time and the Rasa calls after it."""
    profile = lab.profile
    rasa = FakeRasa(delay=profile.backlog_rasa_seconds)
    target = await lab.deploy("load-G", rasa=rasa)
    try:
        hooks = schedule(lab, "G", profile.backlog_messages, profile.backlog_messages)
        deliveries = await send_all(lab, target, hooks, None, give_up_after=60)
        await _until(lambda: len(rasa.calls) >= min(8, len(hooks)), 15.0)
        old = target.site.current
        signalled = time.monotonic()
        old.term()
        bound = SHUTDOWN_SECONDS + (20.0 if profile.name == "short" else 65.0)
        took = await old.wait(bound)
        if took is None:
            old.kill()
        after = sum(1 for call in rasa.calls if call.at > signalled + 0.2)
        rasa.delay = 0.0
        await target.site.start()
        accepted = [marker("G", d.index) for d in deliveries if d.status == 200]
        await drain(target, accepted, 60.0)
        result = tally("G", f"SIGTERM with {len(hooks)} queued and a {profile.backlog_rasa_seconds:.0f} s Rasa",
                       deliveries, target, strict=False)
        exit_text = f"exit after {took:.1f} s" if took is not None else f"no exit in {bound:.0f} s (SIGKILL)"
        result.note = (f"{exit_text}; {after} Rasa calls after SIGTERM; then a new gateway: lost {result.lost}, "
                       f"sent to Rasa twice {result.rasa_twice} (calls cut off by the exit)")
        in_time = took is not None and took <= SHUTDOWN_SECONDS + EXIT_MARGIN
        result.verdict = PASS if in_time and after == 0 and not result.lost and not result.replies_twice else FAIL
        result.answer_ms = result.to_rasa_ms = None
        return result
    finally:
        await target.site.close()


async def idle_exit(lab: Lab) -> LoadRun:
    """G': SIGTERM to a gateway with nothing to do."""
    target = await lab.deploy("load-G-idle")
    try:
        await asyncio.sleep(1.0)
        took = await target.site.current.terminate(SHUTDOWN_SECONDS + 20.0)
    finally:
        await target.site.close()
    ok = took is not None and took <= EXIT_MARGIN
    return LoadRun("G′", "SIGTERM on an idle gateway", verdict=PASS if ok else FAIL,
                   note=f"exit after {took:.1f} s" if took is not None else "no exit in 30 s (SIGKILL)")


async def _until(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


# the floods


@dataclass
class Tick:
    marker: str
    sent: float
    reply: Reply | None = None


@dataclass
class Ticker:
    """A WhatsApp message every 100 ms from ten people, for as long as the flood lasts."""

    lab: Lab
    target: Target
    tag: str
    ticks: list[Tick] = field(default_factory=list)

    async def run(self, stop: asyncio.Event, at_least: float, at_most: float = 90.0) -> None:
        people = [self.lab.person() for _ in range(10)]
        started = time.monotonic()
        pending: list[asyncio.Future[None]] = []
        i = 0
        while time.monotonic() - started < at_most and (not stop.is_set() or time.monotonic() - started < at_least):
            pending.append(asyncio.ensure_future(self._one(people[i % len(people)])))
            i += 1
            await asyncio.sleep(0.1)
        await asyncio.gather(*pending)

    async def _one(self, person: int) -> None:
        tick = Tick(self.lab.marker(self.tag), time.monotonic())
        self.ticks.append(tick)
        hook = signing.webhook("whatsapp", self.lab.number(), person, tick.marker)
        tick.reply = await self.lab.http.post(self.target.url + hook.path, data=hook.body, headers=hook.headers,
                                              timeout=60.0)

    def latencies(self) -> tuple[list[float], list[float], list[float], int]:
        """(to Rasa, webhook answer, reply at the platform) in ms, and how many never reached Rasa."""
        first: dict[str, float] = {}
        for call in self.target.rasa.calls:
            for tick in self.ticks:
                if tick.marker in call.text:
                    first.setdefault(tick.marker, call.at)
        replied: dict[str, float] = {}
        for call in self.target.api.sent:
            for tick in self.ticks:
                if tick.marker in call.text:
                    replied.setdefault(tick.marker, call.at)
        to_rasa = [(first[t.marker] - t.sent) * 1000 for t in self.ticks if t.marker in first]
        answers = [t.reply.ms for t in self.ticks if t.reply is not None and t.reply.status == 200]
        replies = [(replied[t.marker] - t.sent) * 1000 for t in self.ticks if t.marker in replied]
        return to_rasa, answers, replies, len(self.ticks) - len(to_rasa)


def three(values: Sequence[float]) -> tuple[float, float, float]:
    return percentile(values, 50), percentile(values, 95), max(values, default=0.0)


async def _flood_beside_whatsapp(lab: Lab, probe_id: str, name: str, overrides: dict[str, str | None],
                                 flood: Callable[[Target], Awaitable[str]]) -> list[Row]:
    """Measure WhatsApp without and during ``flood`` on a fresh gateway with a 22 msg/s Rasa."""
    rasa = FakeRasa(delay=RASA_AT_22_PER_SECOND, serial=True)
    target = await lab.deploy(f"flood-{probe_id}", overrides, rasa=rasa)
    try:
        calm = Ticker(lab, target, "calm")
        stop = asyncio.Event()
        stop.set()
        await calm.run(stop, at_least=1.0)
        await drain_markers(target, [t.marker for t in calm.ticks], 20.0)
        busy = Ticker(lab, target, "busy")
        stop = asyncio.Event()
        ticking = asyncio.ensure_future(busy.run(stop, at_least=3.0))
        what = await flood(target)
        stop.set()
        await ticking
        bound = 120.0 if lab.profile.name == "full" else 60.0
        await drain_markers(target, [t.marker for t in busy.ticks], bound)
    finally:
        await target.site.close()
    without = three(calm.latencies()[0])
    to_rasa, answers, replies, missing = busy.latencies()
    during, answered = three(to_rasa), three(answers)
    result = Flood(probe_id, name, what, without, during, answered,
                   (percentile(replies, 50), percentile(replies, 95)), FLOOD_TARGET_MS)
    ok = not missing and during[1] < FLOOD_TARGET_MS and answered[1] < FLOOD_TARGET_MS
    result.verdict = PASS if ok else FAIL
    if missing:
        result.note = f"{missing} WhatsApp messages had not reached Rasa {bound:.0f} s after the flood"
    lab.floods.append(result)
    section = "3 webchat" if probe_id.startswith("3") else "4 console"
    measured = (f"WhatsApp -> Rasa p50/p95/max {without[0]:.0f}/{without[1]:.0f}/{without[2]:.0f} ms without, "
                f"{during[0]:.0f}/{during[1]:.0f}/{during[2]:.0f} ms during; "
                f"answer p95 {answered[1]:.0f} ms" + (f"; {result.note}" if result.note else ""))
    return [Row(section, name, what, "", measured, result.verdict, "target: p95 under 2 s", probe_id)]


async def drain_markers(target: Target, markers: Sequence[str], timeout: float) -> None:
    await target.rasa.wait_for(markers, timeout)


async def _webchat_flood(lab: Lab, probe_id: str, many: bool) -> list[Row]:
    count, seconds = lab.profile.webchat_flood, lab.profile.flood_seconds

    async def flood(target: Target) -> str:
        statuses: Counter[str] = Counter()
        rng = random.Random(probe_id)  # noqa: S311 - made-up client addresses, not a secret

        async def one(i: int) -> None:
            address = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{1 + i % 250}" if many else None
            chat = lab.webchat(target, address)
            session, refused = await chat.session(timeout=1.0)
            if session is None:
                statuses[f"session {refused.status or refused.error}"] += 1
                return
            reply = await chat.send(session, f"flood {i}", timeout=1.0)  # abandoned after 1 s
            statuses["abandoned" if reply.error == "timeout" else str(reply.status or reply.error)] += 1

        started = time.monotonic()
        tasks = []
        for i in range(count):
            await asyncio.sleep(max(0.0, started + i * seconds / count - time.monotonic()))
            tasks.append(asyncio.ensure_future(one(i)))
        await asyncio.gather(*tasks)
        return f"{count} POSTs from {count} sessions in {time.monotonic() - started:.1f} s: " + \
            ", ".join(f"{k} ×{v}" for k, v in statuses.most_common())

    overrides: dict[str, str | None] = {"GATEWAY_TRUST_PROXY": "true"} if many else {}
    name = (f"web chat flood from {'many addresses' if many else 'one address'} ({count} POSTs, abandoned after "
            f"1 s) beside WhatsApp")
    return await _flood_beside_whatsapp(lab, probe_id, name, overrides, flood)


async def webchat_flood(lab: Lab) -> list[Row]:
    return await _webchat_flood(lab, "3.8", many=False)


async def webchat_flood_many(lab: Lab) -> list[Row]:
    return await _webchat_flood(lab, "3.9", many=True)


async def signin_flood(lab: Lab) -> list[Row]:
    count = lab.profile.signin_flood

    async def flood(target: Target) -> str:
        slots = asyncio.Semaphore(CONCURRENCY)

        async def one(i: int) -> int:
            async with slots:
                return (await Console(lab.http, target.url).login("alice", f"flood-guess-{i:06d}")).status

        started = time.monotonic()
        statuses = Counter(await asyncio.gather(*(one(i) for i in range(count))))
        return f"{count} wrong passwords (concurrency 50) in {time.monotonic() - started:.1f} s: " + \
            ", ".join(f"{k} ×{v}" for k, v in statuses.most_common())

    return await _flood_beside_whatsapp(lab, "4.4", f"sign-in flood ({count} wrong passwords) beside WhatsApp", {},
                                        flood)
