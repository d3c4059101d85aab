"""Prometheus metrics and structured logs. Logs carry events, channels, pseudonymous
conversation prefixes and reasons: never message text, addresses, tokens or URLs with tokens."""

from __future__ import annotations

import json
import logging
import os
import time
import traceback
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LOG = logging.getLogger("channels")


def log_event(event: str, level: int = logging.INFO, **fields: Any) -> None:
    LOG.log(level, json.dumps({"event": event, "ts": round(time.time(), 3), **fields}, sort_keys=True))


def short(conversation: str) -> str:
    """Enough of a pseudonym to follow one conversation through the logs."""
    return conversation[:20]


def failure(exc: BaseException) -> dict[str, str]:
    """An unexpected exception as log fields: its class and the line that raised it, never its
    message (which can quote what a person wrote, or an address)."""
    fields = {"error": exc.__class__.__name__}
    frames = traceback.extract_tb(exc.__traceback__)
    if frames:
        last = frames[-1]
        fields["where"] = f"{os.path.basename(last.filename)}:{last.lineno} in {last.name}"
    return fields


class Metrics:
    """One registry per gateway, so that tests can run several."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        labels = ["channel"]
        self.received = Counter("gateway_messages_in_total", "Messages accepted from people",
                                labels, registry=self.registry)
        self.sent = Counter("gateway_messages_out_total", "API calls delivered to platforms",
                            labels, registry=self.registry)
        self.duplicates = Counter("gateway_duplicates_total", "Redelivered messages dropped",
                                  labels, registry=self.registry)
        self.ignored = Counter("gateway_ignored_total", "Webhook items ignored (status, echo, ...)",
                               labels, registry=self.registry)
        self.rejected = Counter("gateway_rejected_total", "Webhooks rejected (forged, malformed)",
                                ["channel", "status"], registry=self.registry)
        self.failures = Counter("gateway_send_failures_total", "Failed platform API calls",
                                ["channel", "outcome"], registry=self.registry)
        self.rasa_failures = Counter("gateway_rasa_failures_total", "Rasa calls that failed",
                                     registry=self.registry)
        self.reply_latency = Histogram(
            "gateway_reply_seconds", "From webhook to queued reply", labels, registry=self.registry,
            buckets=(0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30))
        self.send_latency = Histogram(
            "gateway_send_seconds", "Platform API call time", labels, registry=self.registry,
            buckets=(0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10))
        self.backlog = Gauge("gateway_outbox_backlog", "API calls waiting in the outbox",
                             registry=self.registry)
        self.inbox_backlog = Gauge("gateway_inbox_backlog", "Messages waiting to be answered",
                                   registry=self.registry)
        self.processing_failures = Counter(
            "gateway_processing_failures_total", "Messages (inbox) or replies (outbox) the gateway failed to "
            "handle, each try counted", ["queue", "channel"], registry=self.registry)
        self.parked = Counter("gateway_parked_total", "Messages or replies set aside after repeated failures",
                              ["queue", "channel"], registry=self.registry)
        self.parked_now = Gauge("gateway_parked_rows", "Messages or replies set aside and still kept (see the "
                                "console's Failed page)", ["queue"], registry=self.registry)
        self.loop_restarts = Counter("gateway_loop_restarts_total", "Background loops restarted after an error",
                                     ["loop"], registry=self.registry)

    def render(self) -> bytes:
        return generate_latest(self.registry)
