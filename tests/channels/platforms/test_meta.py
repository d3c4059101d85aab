"""What WhatsApp and Messenger share as products of one Meta app: reading a Graph API answer.
(The signature check and the URL handshake run through both platforms' own tests.)"""

from __future__ import annotations

import json

import pytest

from channels.models import SendResult
from channels.platforms.meta import graph_outcome, shorten

RETRYABLE = frozenset({4, 80007})


def error(code: int, subcode: int | None = None, **extra: object) -> bytes:
    body: dict[str, object] = {"code": code, "message": "(#131026) Message undeliverable to +447700900123", **extra}
    if subcode is not None:
        body["error_subcode"] = subcode
    return json.dumps({"error": body}).encode()


@pytest.mark.parametrize(("status", "body", "headers", "result"), [
    (200, b'{"messages": []}', {}, SendResult(ok=True)),
    (400, error(80007), {}, SendResult(ok=False, retry_after=0.0, reason="HTTP 400 graph error 80007")),
    (400, error(4), {"Retry-After": "9"}, SendResult(ok=False, retry_after=9.0, reason="HTTP 400 graph error 4")),
    (400, error(100, 2018001, is_transient=True), {},
     SendResult(ok=False, retry_after=0.0, reason="HTTP 400 graph error 100/2018001")),
    (400, error(131026), {}, SendResult(ok=False, reason="HTTP 400 graph error 131026")),
    (500, error(1), {}, SendResult(ok=False, retry_after=0.0, reason="HTTP 500 graph error 1")),
    (403, b"<html>not json</html>", {}, SendResult(ok=False, reason="HTTP 403")),
])
def test_graph_outcome(status: int, body: bytes, headers: dict[str, str], result: SendResult) -> None:
    outcome = graph_outcome(status, headers, body, RETRYABLE)
    assert outcome == result
    assert "447700900123" not in outcome.reason, "Meta's message can quote the recipient: never kept"


def test_shorten_ends_in_an_ellipsis_only_when_cut() -> None:
    assert shorten("Yes", 20) == "Yes"
    assert shorten("A title that is far too long", 10) == "A title t…" and len(shorten("x" * 30, 10)) == 10
