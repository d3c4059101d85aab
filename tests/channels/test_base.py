"""What every channel shares: reading a platform's answer (Retry-After, retry or drop)."""

from __future__ import annotations

import email.utils

import pytest

from channels.base import MAX_RETRY_AFTER, classify, retry_after, transport_failure
from channels.models import SendResult


@pytest.mark.parametrize(("header", "wait"), [
    ({}, None), ({"Retry-After": "7"}, 7.0), ({"Retry-After": " 30 "}, 30.0),
    ({"Retry-After": "86400"}, MAX_RETRY_AFTER),
    ({"Retry-After": "soon"}, None), ({"Retry-After": email.utils.formatdate(1000.0 + 90, usegmt=True)}, 90.0),
    ({"Retry-After": email.utils.formatdate(1000.0 - 90, usegmt=True)}, 0.0),
])
def test_retry_after_reads_seconds_or_a_date(header: dict[str, str], wait: float | None) -> None:
    assert retry_after(header, now=1000.0) == wait


@pytest.mark.parametrize(("status", "headers", "result"), [
    (200, {}, SendResult(ok=True)),
    (204, {}, SendResult(ok=True)),
    (429, {"Retry-After": "5"}, SendResult(ok=False, retry_after=5.0, reason="HTTP 429")),
    (503, {}, SendResult(ok=False, retry_after=0.0, reason="HTTP 503")),
    (400, {}, SendResult(ok=False, reason="HTTP 400")),
    (403, {"Retry-After": "5"}, SendResult(ok=False, reason="HTTP 403")),
])
def test_classify_retries_429_and_5xx_and_never_other_4xx(status: int, headers: dict[str, str],
                                                         result: SendResult) -> None:
    assert classify(status, headers) == result
    assert classify(status, headers).permanent_failure is (status in (400, 403))


def test_a_transport_failure_is_retried_and_names_no_url() -> None:
    result = transport_failure(ConnectionError("https://api.telegram.org/bot123:secret/sendMessage"))
    assert result == SendResult(ok=False, retry_after=0.0, reason="transport: ConnectionError")
