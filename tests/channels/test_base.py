"""What every channel shares: reading a webhook's JSON (4xx for anything malformed, never a 500),
and reading a platform's answer (Retry-After, retry or drop)."""

from __future__ import annotations

import email.utils
import json

import pytest

from channels.base import MAX_DEPTH, MAX_RETRY_AFTER, classify, load_json, retry_after, transport_failure
from channels.errors import Rejected
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


def nested(depth: int, inner: str = "1") -> bytes:
    return ("[" * depth + inner + "]" * depth).encode()


@pytest.mark.parametrize(("body", "value"), [
    (nested(MAX_DEPTH), json.loads(nested(MAX_DEPTH))),
    # brackets in a text count for nothing
    (b'{"text": "[[[[{{{{' + b"[" * 500 + b'"}', {"text": "[[[[{{{{" + "[" * 500}),
    (b'{"t": "a \\\\", "u": [1]}', {"t": "a \\", "u": [1]}),  # an escaped backslash ends before the quote
    (b'{"t": "\\"[[[[["}', {"t": '"[[[[['}),  # and an escaped quote does not end the text
    (b'{"emoji": "\\ud83d\\ude00", "\\u00e9": "\\u0645"}', {"emoji": "😀", "é": "م"}),  # escaped pairs are fine
    ('{"t": "صاحب العمل"}'.encode(), {"t": "صاحب العمل"}),
    (b'  {"a": [[], {}, [{}]]}  ', {"a": [[], {}, [{}]]}),
])
def test_load_json_reads_what_platforms_send(body: bytes, value: object) -> None:
    assert load_json(body) == value


@pytest.mark.parametrize(("body", "reason"), [
    (nested(MAX_DEPTH + 1), "nested deeper than"),
    (nested(50_000), "nested deeper than"),  # the report's 50k-level array (a RecursionError before)
    (b'{"text": ' + b'{"a": ' * 20_000 + b"1" + b"}" * 20_000 + b"}", "nested deeper than"),
    (b"[" * 16_000, "invalid JSON"),  # never closed: the web chat's 16 KB of "["
    (b"]" * 100 + b"[" * 100, "invalid JSON"),
    (b'{"text": "x\\ud800y"}', "lone surrogate"),  # the report's escaped lone surrogate
    (b'{"from": "1555\\udfff"}', "lone surrogate"),
    (b'{"\\ud800": 1}', "lone surrogate"),  # in a key
    (b'[[[{"a": ["\\ude00\\ud83d"]}]]]', "lone surrogate"),  # a pair in the wrong order, deep down
    (b'{"after": ' + b"9" * 5000 + b"}", "invalid JSON"),  # longer than Python converts (ValueError)
    (b"\xff\xfe{}", "invalid JSON"), (b"", "invalid JSON"), (b'{"a": ', "invalid JSON"),
    ('{"t": "\ud800"}'.encode("utf-8", "surrogatepass"), "invalid JSON"),  # an encoded surrogate is not UTF-8
])
def test_load_json_refuses_with_a_400_that_says_why(body: bytes, reason: str) -> None:
    with pytest.raises(Rejected, match=reason) as refused:
        load_json(body)
    assert refused.value.status == 400
