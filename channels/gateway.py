"""The gateway: messages in, Rasa in the middle, replies out through a persisted outbox.

    accept          a parsed message (a webhook's, the web chat's) -> deduplicated into the inbox
    inbox worker    one message per conversation at a time -> Rasa -> render -> outbox
    outbox worker   send in order per conversation, retry 5xx/429 (Retry-After), keep what could
                    not be sent across restarts
    health          what /healthz reports

The HTTP side (webhooks, web chat, console, /healthz, /metrics) is composed in channels.app.

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
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import aiohttp

from channels import directives, rasa
from channels.base import Channel, transport_failure
from channels.cases import Case, CaseError, CaseStore
from channels.keys import Keys
from channels.models import ApiCall, Inbound, Outbound, SendResult
from channels.observability import Metrics, failure, log_event, short
from channels.retention import Retention
from channels.settings import Settings
from channels.store import GatewayStore, InboxRow, OutboxRow
from channels.supervision import LoopState, start
from channels.tracker import TrackerEvents

T = TypeVar("T")
MEDIA_INTENT = "/media_received"
OPTION = re.compile(r"\d{1,2}")
WORKERS = 8
MAX_BACKOFF = 300.0
# A message or reply that fails this many times (other than Rasa or the platform being down) is parked.
PARK_AFTER = 5


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
        self._busy_in: set[str] = set()
        self._busy_out: set[str] = set()
        self._processed: dict[int, asyncio.Future[None]] = {}
        self.retention = Retention(self.store, self.cases, self.tracker, self.db, settings.retention_days, clock)
        self.loops = {name: LoopState(name) for name in ("inbox", "outbox", "retention")}
        self._inflight: set[asyncio.Task[None]] = set()

    # plumbing

    async def db(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a store method on the database thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._db_thread, functools.partial(fn, *args))

    async def start(self) -> None:
        """Open the HTTP client session and start the supervised loops (the app does this on startup)."""
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        bodies = {"inbox": self._inbox_loop, "outbox": self._outbox_loop, "retention": self.retention.loop}
        for name, body in bodies.items():
            start(self.loops[name], body, self.metrics.loop_restarts)
        log_event("gateway_started", channels=sorted(self.channels))

    async def stop(self) -> None:
        """Stop the loops and what is in flight, then close the session and the stores."""
        tasks = [*(s.task for s in self.loops.values() if s.task is not None), *self._inflight]
        for task in tasks:
            task.cancel()
        for outcome in await asyncio.gather(*tasks, return_exceptions=True):
            if isinstance(outcome, Exception):  # raised before it could be cancelled
                log_event("task_failed", logging.ERROR, **failure(outcome))
        if self.session is not None:
            await self.session.close()
        await self.db(self.store.close)
        await self.db(self.cases.close)
        if self.tracker is not None:
            await self.db(self.tracker.close)
        self._db_thread.shutdown(wait=True)  # nothing is left to wait for

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
        """Wait until an accepted message has been answered (the web chat replies in-line)."""
        loop = asyncio.get_running_loop()
        future = self._processed.setdefault(row_id, loop.create_future())
        if await self.db(self.store.inbox_status, row_id) == "done":
            self._processed.pop(row_id, None)
            return True
        try:
            await asyncio.wait_for(asyncio.shield(future), timeout)
            return True
        except asyncio.TimeoutError:
            return False
        finally:
            self._processed.pop(row_id, None)

    async def _inbox_loop(self, state: LoopState) -> None:
        while True:
            rows = await self.db(self.store.due_inbox, self.clock(), set(self._busy_in),
                                 WORKERS - len(self._busy_in))
            for row in rows:
                self._busy_in.add(row.conversation)
                self._spawn(self._process(row))
            next_due = await self.db(self.store.next_inbox_time)
            state.beat()
            await self._sleep(self._wake_inbox, next_due)

    async def _process(self, row: InboxRow) -> None:
        try:
            await self._answer(row)
        except Exception as exc:
            await self._failed("inbox", row.id, row.channel, row.conversation, row.failures, exc)
        finally:
            self._busy_in.discard(row.conversation)
            self._wake_inbox.set()
            future = self._processed.get(row.id)
            if future is not None and not future.done():
                future.set_result(None)

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
            parked = await self.db(record, row_id, fields["error"], self.clock(), self.clock() + wait, PARK_AFTER)
        except Exception as again:
            log_event("failure_not_recorded", logging.ERROR, queue=queue, channel=channel,
                      conversation=short(conversation), first=fields["error"], **failure(again))
            await asyncio.sleep(wait)
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
            await self.db(self.store.complete_inbox, row.id, [], [], self.clock())
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
                await self.db(self.store.complete_inbox, row.id, [], [], self.clock())
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
            await self.db(self.store.retry_inbox, row.id, self.clock() + backoff(row.attempts))
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
        mailbox: list[tuple[str, str]] = []
        options = None
        if channel.numbered:  # the numbers a person may answer with are the latest message's
            with_buttons = [message for message in outbound if message.buttons]
            options = (conversation, [b.payload for b in with_buttons[-1].buttons] if with_buttons else [])
        for message in outbound:
            for call in channel.render(message):
                if channel.mailbox:
                    mailbox.append((conversation, _json(call.json)))
                else:
                    calls.append((conversation, channel.name, self.keys.seal(call.to_dict())))
        await self.db(self.store.complete_inbox, inbox_row, calls, mailbox, self.clock(), options)
        if calls:
            self._wake_outbox.set()

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
        while True:
            rows = await self.db(self.store.due_outbox, self.clock(), set(self._busy_out),
                                 WORKERS - len(self._busy_out))
            for row in rows:
                self._busy_out.add(row.conversation)
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
            self._busy_out.discard(row.conversation)
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
        await self.db(self.store.reschedule, row.id, now + wait, result.reason)
        self.metrics.failures.labels(row.channel, "retry").inc()
        log_event("reply_retry", logging.WARNING, reason=result.reason, wait=round(wait, 2), **where)

    async def _sleep(self, event: asyncio.Event, next_due: float | None) -> None:
        timeout = 1.0 if next_due is None else min(1.0, max(0.01, next_due - self.clock()))
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)
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


def _readable(message: Inbound) -> str:
    """The person's message as the operator's transcript shows it."""
    if message.kind == "media":
        return "[a photo, voice note or file, not kept]"
    return message.text


def _json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False)
