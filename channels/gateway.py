"""The gateway: messages in, Rasa in the middle, replies out through a persisted outbox.

    accept          a parsed message (a webhook's, the web chat's) -> deduplicated into the inbox
    inbox worker    one message per conversation at a time -> Rasa -> render -> outbox
    outbox worker   send in order per conversation, retry 5xx/429 (Retry-After), keep what could
                    not be sent across restarts
    health          what /healthz reports

The HTTP side (webhooks, web chat, console, /healthz, /metrics) is composed in channels.app.

Several gateway processes may share the database (a restart overlapping the old process, two
instances): a worker claims a message or reply before working on it (channels.store: owner and
lease), a lease loop renews the claims of what is in flight every third of GATEWAY_LEASE_SECONDS,
and a claim its process stopped renewing (killed) lapses after the lease. The inbox serves the
channels in turn and caps the workers one channel holds while another has work (store.fair_share).

Stopping (SIGTERM): ``shutdown`` stops taking work at once, lets what is in flight finish for up
to GATEWAY_SHUTDOWN_SECONDS, cancels the rest and releases every claim, so that the next start
takes it at once; ``stop`` then closes the client session and the stores.

Every background loop runs under a supervisor (channels.supervision) that logs an error, waits and
starts the loop again, and /healthz turns red while one is down. A message or reply that fails
for a reason other than Rasa or the platform being unavailable (it cannot be opened, a bug) is
tried again with a growing pause and, after PARK_AFTER tries, set aside as 'failed' so that the
person's later messages go ahead; the console's Failed page and /metrics show it. Retention and
"delete my data" are channels.retention's.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import json
import logging
import re
import secrets
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import aiohttp

from channels import directives, rasa
from channels.base import Channel, transport_failure
from channels.cases import Case, CaseError, CaseStore
from channels.errors import SealError
from channels.keys import Keys
from channels.models import ApiCall, Inbound, Outbound, SendResult
from channels.observability import Metrics, failure, log_event, short
from channels.retention import Retention
from channels.settings import Settings
from channels.store import GatewayStore, InboxRow, LeaseLost, OutboxRow
from channels.supervision import LoopState, start
from channels.tracker import TrackerEvents

T = TypeVar("T")
MEDIA_INTENT = "/media_received"
OPTION = re.compile(r"\d{1,2}")
WORKERS = 8
# While another channel has work, one channel holds at most this many workers (a web chat flood).
CHANNEL_CAP = WORKERS // 2
MAX_BACKOFF = 300.0
# A message or reply that fails this many times (other than Rasa or the platform being down) is parked.
PARK_AFTER = 5
# Seconds that cancelled work, and each cleanup step, get once the shutdown time is over.
CLEANUP_SECONDS = 1.0
# Of GATEWAY_SHUTDOWN_SECONDS, what work in flight does not get: the time to cut what is left,
# release its claims, close the stores and let aiohttp close its connections.
STOP_RESERVE = 2.0


def backoff(attempts: int) -> float:
    """Seconds before retry number ``attempts + 1``: 1, 2, 4, ... up to five minutes."""
    return float(min(2 ** attempts, MAX_BACKOFF))


class Gateway:
    def __init__(self, settings: Settings, channels: dict[str, Channel],
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.keys = Keys(settings.secret)
        self.store = GatewayStore(settings.db_path)
        self.cases = CaseStore(settings.cases_db_url, self.keys)
        self.tracker = TrackerEvents(settings.tracker_db_url) if settings.tracker_db_url else None
        self.channels = channels
        self.metrics = Metrics()
        self.clock = clock
        self.session: aiohttp.ClientSession | None = None
        self._db_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gateway-db")
        self._wake_inbox = asyncio.Event()
        self._wake_outbox = asyncio.Event()
        # this gateway's claims in the shared database: a new ID for every process (and object)
        self.owner = secrets.token_hex(8)
        # what the workers hold, by conversation: one message (one reply) per conversation at a time
        self._busy_in: dict[str, InboxRow] = {}
        self._busy_out: dict[str, OutboxRow] = {}
        self._processed: dict[int, asyncio.Future[None]] = {}
        self.retention = Retention(self.store, self.cases, self.tracker, self.db, settings.retention_days, clock)
        self.loops = {name: LoopState(name) for name in ("inbox", "outbox", "retention", "leases")}
        self._inflight: set[asyncio.Task[None]] = set()
        self._shutdown: asyncio.Task[None] | None = None

    # plumbing

    async def db(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a store method on the database thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._db_thread, functools.partial(fn, *args))

    async def start(self) -> None:
        """Open the HTTP client session and start the supervised loops (the app does this on startup)."""
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        bodies = {"inbox": self._inbox_loop, "outbox": self._outbox_loop, "retention": self.retention.loop,
                  "leases": self._lease_loop}
        for name, body in bodies.items():
            start(self.loops[name], body, self.metrics.loop_restarts)
        log_event("gateway_started", channels=sorted(self.channels))

    async def shutdown(self) -> None:
        """Stop taking work at once, let what is in flight finish until STOP_RESERVE seconds before
        GATEWAY_SHUTDOWN_SECONDS have passed, then cancel what is left and release every claim (the
        app calls this first on SIGTERM, before aiohttp waits for its tasks). Calling it again waits
        for the first call."""
        if self._shutdown is None:
            self._shutdown = asyncio.ensure_future(self._drain())
        await asyncio.shield(self._shutdown)

    async def _drain(self) -> None:
        began = time.monotonic()
        takers = [self.loops[name] for name in ("inbox", "outbox", "retention")]
        for state in takers:
            state.stop()
        await _ended([s.task for s in takers if s.task is not None], CLEANUP_SECONDS)
        in_flight = set(self._inflight)
        if in_flight:  # the last STOP_RESERVE seconds go to cutting, releasing, closing
            left = self.settings.shutdown_seconds - STOP_RESERVE - (time.monotonic() - began)
            await asyncio.wait(in_flight, timeout=max(0.0, left))
        cut = set(self._inflight)
        for task in cut:
            task.cancel()
        await _ended(cut, CLEANUP_SECONDS)
        self.loops["leases"].stop()
        await _ended([t for t in (self.loops["leases"].task,) if t is not None], CLEANUP_SECONDS)
        released: int | str = "unknown"
        try:
            released = await asyncio.wait_for(self.db(self.store.release_all, self.owner), CLEANUP_SECONDS * 5)
        except Exception as exc:  # the claims lapse on their own after the lease
            log_event("claims_not_released", logging.ERROR, **failure(exc))
        for future in self._processed.values():  # the web chat's waiting POSTs answer "pending"
            future.cancel()
        log_event("gateway_drained", finished=len(in_flight) - len(cut), cut=len(cut), released=released,
                  seconds=round(time.monotonic() - began, 2))

    async def stop(self) -> None:
        """Shut down (if the app has not), then close the session and the stores; every step is
        bounded, so that the process exits even when the database hangs."""
        began = time.monotonic()
        await self.shutdown()
        if self.session is not None:
            await self.session.close()
        closes = [self.store.close, self.cases.close] + ([self.tracker.close] if self.tracker is not None else [])
        for close in closes:
            try:
                await asyncio.wait_for(self.db(close), CLEANUP_SECONDS * 5)
            except Exception as exc:
                log_event("store_not_closed", logging.ERROR, **failure(exc))
        self._db_thread.shutdown(wait=False, cancel_futures=True)
        log_event("gateway_stopped", seconds=round(time.monotonic() - began, 2))

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._inflight.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Future[None]) -> None:
        """A spawned task's end: an exception that got this far is logged, never left to asyncio."""
        self._inflight.discard(task)
        exc = None if task.cancelled() else task.exception()
        if exc is not None:
            log_event("task_failed", logging.ERROR, **failure(exc))

    # inbound

    async def accept(self, message: Inbound) -> int | None:
        """Persist a new message for processing; None when it is a redelivery."""
        now = self.clock()
        conversation = self.keys.pseudonym(message.channel, message.user_id)
        row_id = await self.db(
            self.store.accept, self.keys.message_key(message.channel, message.message_id), conversation,
            message.channel, self.keys.seal(dataclasses.asdict(message)), now,
            now + self.settings.dedupe_days * 86400)
        if row_id is None:
            self.metrics.duplicates.labels(message.channel).inc()
            log_event("duplicate_ignored", channel=message.channel, conversation=short(conversation))
            return None
        await self.db(self.store.remember, conversation, message.channel,
                      self.keys.seal({"user_id": message.user_id, "reply_to": message.reply_to}), now)
        self.metrics.received.labels(message.channel).inc()
        log_event("message_accepted", channel=message.channel, conversation=short(conversation),
                  kind=message.kind)
        self._wake_inbox.set()
        return row_id

    async def wait_processed(self, row_id: int, timeout: float) -> bool:
        """Wait until the gateway has tried an accepted message (the web chat replies in-line; the
        caller reads whether it was answered or waits for a retry); False after ``timeout``, and at
        once when the gateway stops (the page keeps polling, and the next start answers)."""
        loop = asyncio.get_running_loop()
        future = self._processed.setdefault(row_id, loop.create_future())
        try:
            if self._shutdown is not None:
                return False
            if await self.db(self.store.inbox_status, row_id) == "done":
                return True
            done, _ = await asyncio.wait({future}, timeout=timeout)  # not wait_for: see _sleep
            return bool(done) and self._shutdown is None
        finally:
            self._processed.pop(row_id, None)

    async def _inbox_loop(self, state: LoopState) -> None:
        while not state.stopping:
            free = WORKERS - len(self._busy_in)
            if free > 0:
                now = self.clock()
                rows = await self.db(self.store.claim_inbox, self.owner, now, now + self.settings.lease_seconds,
                                     free, _per_channel(self._busy_in), CHANNEL_CAP)
                for row in rows:
                    self._busy_in[row.conversation] = row
                    self._spawn(self._process(row))
            next_due = await self.db(self.store.next_inbox_time)
            state.beat()
            await self._sleep(self._wake_inbox, next_due)

    async def _lease_loop(self, state: LoopState) -> None:
        """Renew the claims on what the workers hold, every third of the lease."""
        while not state.stopping:
            await asyncio.sleep(self.settings.lease_seconds / 3)
            inbox = [row.id for row in self._busy_in.values()]
            outbox = [row.id for row in self._busy_out.values()]
            if inbox or outbox:
                await self.db(self.store.renew, self.owner, self.clock() + self.settings.lease_seconds,
                              inbox, outbox)
            state.beat()

    async def _process(self, row: InboxRow) -> None:
        try:
            await self._answer(row)
        except LeaseLost:
            self._lease_lost("inbox", row.channel, row.conversation)
        except Exception as exc:
            await self._failed("inbox", row.id, row.channel, row.conversation, row.failures, exc)
        finally:
            self._busy_in.pop(row.conversation, None)
            self._wake_inbox.set()
            future = self._processed.get(row.id)
            if future is not None and not future.done():
                future.set_result(None)

    def _lease_lost(self, queue: str, channel: str, conversation: str) -> None:
        """Another gateway took a row this one held too long without renewing (its database
        thread stalled for a whole lease): this one's result is dropped, the other's stands."""
        log_event("lease_lost", logging.WARNING, queue=queue, channel=channel, conversation=short(conversation))

    async def _failed(self, queue: str, row_id: int, channel: str, conversation: str, failures: int,
                      exc: Exception) -> None:
        """Count a failed try at a row, to be tried again later, or parked after PARK_AFTER tries.

        While this runs the conversation is still marked busy; if even the count cannot be written
        (the database is failing), it stays busy for the back-off, so nothing spins."""
        fields: dict[str, Any] = {"queue": queue, "channel": channel, "conversation": short(conversation),
                                  "failures": failures + 1, **failure(exc)}
        self.metrics.processing_failures.labels(queue, channel).inc()
        wait = backoff(failures)
        record = self.store.fail_inbox if queue == "inbox" else self.store.fail_outbox
        try:
            parked = await self.db(record, row_id, fields["error"], self.clock(), self.clock() + wait, PARK_AFTER,
                                   self.owner)
        except Exception as again:
            log_event("failure_not_recorded", logging.ERROR, queue=queue, channel=channel,
                      conversation=short(conversation), first=fields["error"], **failure(again))
            await asyncio.sleep(wait)
            with contextlib.suppress(Exception):  # else the claim lapses after the lease
                await self.db(self.store.release, queue, row_id, self.owner)
            return
        if parked:
            self.metrics.parked.labels(queue, channel).inc()
            log_event("parked", logging.ERROR, **fields)
        else:
            log_event("processing_failed", logging.WARNING, retry_in=wait, **fields)

    async def _answer(self, row: InboxRow) -> None:
        """Take one message through Rasa to its replies (RasaUnavailable: try again later)."""
        message = Inbound(**self.keys.open(row.envelope))
        channel = self.channels.get(message.channel)
        if channel is None:  # a channel switched off while its messages waited
            await self.db(self.store.complete_inbox, row.id, [], [], self.clock(), None, self.owner)
            log_event("channel_disabled", logging.WARNING, channel=message.channel)
            return
        text = MEDIA_INTENT if message.kind == "media" else message.text
        if channel.numbered and message.kind == "text" and OPTION.fullmatch(text.strip()):
            choices = await self.db(self.store.options, row.conversation)
            number = int(text.strip())
            if 1 <= number <= len(choices):
                text = choices[number - 1]
        case = await self.db(self.cases.active_case, row.conversation)
        if case is not None:
            await self.db(self.cases.append, case.id, "person", _readable(message))
            if case.status == "claimed":  # a person from the hotline has it: the bot stays silent
                await self.db(self.store.complete_inbox, row.id, [], [], self.clock(), None, self.owner)
                log_event("held_for_operator", channel=message.channel, conversation=short(row.conversation),
                          case=case.id)
                return
        try:
            assert self.session is not None
            replies = await rasa.converse(self.session, self.settings.rasa_url, row.conversation, text)
        except rasa.RasaUnavailable as exc:
            self.metrics.rasa_failures.inc()
            log_event("rasa_unavailable", logging.WARNING, conversation=short(row.conversation),
                      reason=str(exc), attempts=row.attempts + 1)
            await self.db(self.store.retry_inbox, row.id, self.clock() + backoff(row.attempts), self.owner)
            return
        outbound = rasa.to_outbound(replies, message.channel, message.user_id, message.reply_to)
        found = directives.parse(replies)
        if found.forget:
            await self.retention.forget(row.conversation)
            case = None
        if found.handoff is not None:
            await self._handoff(row.conversation, message.channel, found.handoff)
        elif case is not None:
            for reply in outbound:
                await self.db(self.cases.append, case.id, "bot", reply.text)
        await self.deliver(row.conversation, channel, outbound, inbox_row=row.id)
        self.metrics.reply_latency.labels(message.channel).observe(max(0.0, self.clock() - row.received))

    async def deliver(self, conversation: str, channel: Channel, outbound: list[Any],
                      inbox_row: int | None = None) -> None:
        """Queue replies to one conversation (and mark its inbound message done, atomically)."""
        calls: list[tuple[str, str, bytes]] = []
        mailbox: list[tuple[str, bytes]] = []
        options = None
        if channel.numbered:  # the numbers a person may answer with are the latest message's
            with_buttons = [message for message in outbound if message.buttons]
            options = (conversation, [b.payload for b in with_buttons[-1].buttons] if with_buttons else [])
        for message in outbound:
            for call in channel.render(message):
                if channel.mailbox:
                    mailbox.append((conversation, self.keys.seal(call.json or {})))
                else:
                    calls.append((conversation, channel.name, self.keys.seal(call.to_dict())))
        await self.db(self.store.complete_inbox, inbox_row, calls, mailbox, self.clock(), options, self.owner)
        if calls:
            self._wake_outbox.set()

    async def mailbox(self, conversation: str, after: int) -> list[tuple[int, dict[str, Any]]]:
        """A web chat's replies after ``after``, opened (rows an older gateway kept in clear still read;
        one that cannot be opened, sealed under another GATEWAY_SECRET, is left out)."""
        opened: list[tuple[int, dict[str, Any]]] = []
        for row_id, message in await self.db(self.store.mailbox_after, conversation, after):
            try:
                opened.append((row_id, self.keys.open(message) if isinstance(message, bytes) else json.loads(message)))
            except (SealError, ValueError) as exc:
                log_event("mailbox_unreadable", logging.WARNING, conversation=short(conversation), **failure(exc))
        return opened

    # hotline cases and operators' replies

    async def _handoff(self, conversation: str, channel: str, handoff: directives.Handoff) -> int:
        """Open (or raise) a case from the summary an action sent with a ``handoff`` directive."""
        case_id = await self.db(
            self.cases.open_case, conversation, channel, handoff.language, handoff.category, handoff.urgency,
            handoff.topic, list(handoff.citations), handoff.summary,
            [(line.author, line.text, line.at) for line in handoff.transcript])
        log_event("case_opened", channel=channel, conversation=short(conversation), case=case_id,
                  category=handoff.category or "request", urgency=handoff.urgency)
        return case_id

    async def reply_as_operator(self, case: Case, text: str) -> None:
        """Send an operator's words to the person through their own channel."""
        contact = await self.db(self.store.contact, case.conversation)
        channel = self.channels.get(case.channel)
        if contact is None or channel is None:
            raise CaseError("this person can no longer be reached here (their channel is off, or their "
                            "address was deleted)")
        address = self.keys.open(contact[1])
        message = Outbound(case.channel, str(address["user_id"]), text, reply_to=dict(address.get("reply_to") or {}))
        await self.deliver(case.conversation, channel, [message])

    # outbound

    async def _outbox_loop(self, state: LoopState) -> None:
        while not state.stopping:
            free = WORKERS - len(self._busy_out)
            if free > 0:
                now = self.clock()
                rows = await self.db(self.store.claim_outbox, self.owner, now, now + self.settings.lease_seconds,
                                     free, _per_channel(self._busy_out), CHANNEL_CAP)
                for row in rows:
                    self._busy_out[row.conversation] = row
                    self._spawn(self._send(row))
            self.metrics.backlog.set(await self.db(self.store.backlog))
            next_due = await self.db(self.store.next_outbox_time)
            state.beat()
            await self._sleep(self._wake_outbox, next_due)

    async def _send(self, row: OutboxRow) -> None:
        try:
            try:
                await self._settle(row, await self._call(row))
            except Exception as exc:  # not the platform's answer: the call cannot be made or settled
                await self._failed("outbox", row.id, row.channel, row.conversation, row.failures, exc)
        finally:
            self._busy_out.pop(row.conversation, None)
            self._wake_outbox.set()

    async def _call(self, row: OutboxRow) -> SendResult:
        """Make one queued API call; the platform's answer, or a transport failure, as a SendResult."""
        channel = self.channels.get(row.channel)
        if channel is None:
            return SendResult(ok=False, retry_after=60.0, reason="channel not configured")
        call = ApiCall.from_dict(self.keys.open(row.call))
        started = time.monotonic()
        try:
            assert self.session is not None
            result = await channel.send(self.session, call)
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            result = transport_failure(exc)
        self.metrics.send_latency.labels(row.channel).observe(time.monotonic() - started)
        return result

    async def _settle(self, row: OutboxRow, result: SendResult) -> None:
        now = self.clock()
        where: dict[str, Any] = {"channel": row.channel, "conversation": short(row.conversation),
                                 "attempts": row.attempts + 1}
        if result.ok:
            await self.db(self.store.delivered, row.id)
            self.metrics.sent.labels(row.channel).inc()
            log_event("reply_sent", **where)
            return
        too_old = now - row.created > self.settings.outbox_max_age_hours * 3600
        if result.permanent_failure or too_old:
            await self.db(self.store.delivered, row.id)
            self.metrics.failures.labels(row.channel, "dropped").inc()
            log_event("reply_dropped", logging.ERROR, reason=result.reason + (" (too old)" if too_old else ""),
                      **where)
            return
        wait = result.retry_after if result.retry_after else backoff(row.attempts)
        await self.db(self.store.reschedule, row.id, now + wait, result.reason, self.owner)
        self.metrics.failures.labels(row.channel, "retry").inc()
        log_event("reply_retry", logging.WARNING, reason=result.reason, wait=round(wait, 2), **where)

    async def _sleep(self, event: asyncio.Event, next_due: float | None) -> None:
        """Until ``event`` is set or the next row is due (a second at most). Not wait_for: on
        Python 3.10 it drops a cancel that arrives as the event is set (report run H)."""
        timeout = 1.0 if next_due is None else min(1.0, max(0.01, next_due - self.clock()))
        waiter = asyncio.ensure_future(event.wait())
        try:
            await asyncio.wait({waiter}, timeout=timeout)
        finally:
            waiter.cancel()
        event.clear()

    # operations

    async def health(self) -> dict[str, Any]:
        """What /healthz reports: ``problems`` is empty when every loop runs and nothing is stuck."""
        problems = [p for p in (s.problem(self.settings.loop_down_after_seconds) for s in self.loops.values()) if p]
        report: dict[str, Any] = {"channels": sorted(self.channels),
                                  "loops": {name: s.status for name, s in self.loops.items()}}
        try:
            stats = await self.db(self.store.stats)
        except Exception as exc:  # the check's whole point is to report any failure
            problems.append(f"the gateway database cannot be read ({exc.__class__.__name__})")
            return {"status": "unhealthy", "problems": problems, **report}
        now, limit = self.clock(), self.settings.stuck_after_seconds
        for queue, oldest, what in (("inbox", stats.oldest_inbox, "a message has waited for an answer"),
                                    ("outbox", stats.oldest_outbox, "a reply has waited to be sent")):
            if oldest is not None and now - oldest > limit:
                problems.append(f"{queue} stuck: {what} for {now - oldest:.0f} s (limit {limit:.0f} s)")
        report.update(inbox=stats.inbox_pending, outbox=stats.outbox_pending,
                      parked={"inbox": stats.parked_inbox, "outbox": stats.parked_outbox})
        return {"status": "unhealthy" if problems else "ok", "problems": problems, **report}

    async def metrics_text(self) -> bytes:
        """The Prometheus exposition, with the queue gauges read now."""
        stats = await self.db(self.store.stats)
        self.metrics.backlog.set(stats.outbox_pending)
        self.metrics.inbox_backlog.set(stats.inbox_pending)
        self.metrics.parked_now.labels("inbox").set(stats.parked_inbox)
        self.metrics.parked_now.labels("outbox").set(stats.parked_outbox)
        return self.metrics.render()


def _per_channel(busy: dict[str, InboxRow] | dict[str, OutboxRow]) -> dict[str, int]:
    """How many workers each channel holds."""
    return dict(Counter(row.channel for row in busy.values()))


async def _ended(tasks: Iterable[asyncio.Future[Any]], timeout: float) -> None:
    """Wait for cancelled tasks to end, for ``timeout`` at most (what they raised is logged by
    their supervisor or by Gateway._finished)."""
    pending = set(tasks)
    if pending:
        await asyncio.wait(pending, timeout=timeout)


def _readable(message: Inbound) -> str:
    """The person's message as the operator's transcript shows it."""
    if message.kind == "media":
        return "[a photo, voice note or file, not kept]"
    return message.text

