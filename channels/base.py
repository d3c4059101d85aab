"""The one small protocol every channel module speaks.

A channel verifies a webhook (first, in constant time, over the raw body), parses it into typed
inbound messages (pure, no I/O), renders a platform-neutral reply into API calls (pure), and
sends one API call with its credentials. The gateway does the rest: deduplication, Rasa, the
outbox and its retries, metrics and logs.
"""

from __future__ import annotations

import email.utils
import json
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import aiohttp
from aiohttp import web

from channels.errors import malformed
from channels.models import ApiCall, Outbound, Parsed, SendResult

MAX_RETRY_AFTER = 3600.0
# No platform nests its webhooks more than about 10 levels (WhatsApp's are the deepest, 8).
MAX_DEPTH = 64
# The nesting check's steps: a string, escapes included (to the end of the body if it never
# closes: the JSON is invalid then, and no later quote is tried), and what is not a bracket.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
# A lone surrogate can only come from an escape: UTF-8 itself cannot encode one.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


@dataclass(frozen=True)
class WebhookRequest:
    """What a channel may look at to verify and parse a webhook: no live request object."""

    method: str
    url: str  # as the platform called it (GATEWAY_PUBLIC_URL + path when behind a proxy)
    headers: Mapping[str, str]
    body: bytes
    query: Mapping[str, str] = field(default_factory=dict)


class Channel(ABC):
    """A messaging platform. Subclasses set ``name`` and implement the four methods."""

    name: ClassVar[str]
    # True for the web chat: replies wait in a mailbox the page polls, not in the outbox.
    mailbox: ClassVar[bool] = False
    # True where buttons become numbered lines (SMS): the gateway maps a reply "2" to the payload.
    numbered: ClassVar[bool] = False

    @abstractmethod
    def verify(self, request: WebhookRequest) -> None:
        """Raise ``Rejected`` unless the request carries the platform's valid signature or secret."""

    @abstractmethod
    def parse(self, request: WebhookRequest) -> Parsed:
        """Every message in the webhook (all entries of a batch); raise ``Rejected`` if malformed."""

    @abstractmethod
    def render(self, message: Outbound) -> list[ApiCall]:
        """The platform API calls that deliver one reply, within the platform's limits."""

    @abstractmethod
    async def send(self, session: aiohttp.ClientSession, call: ApiCall) -> SendResult:
        """Make one API call with the channel's credentials."""

    def accepted(self) -> web.Response:
        """The answer to a webhook that was accepted or deliberately ignored."""
        return web.json_response({"ok": True})

    def handshake(self, request: WebhookRequest) -> web.Response | None:
        """Answer a platform's GET verification challenge, if it has one (Meta's ``hub.challenge``)."""
        return None


def load_json(body: bytes) -> Any:
    """The body as JSON, or a 400 rejection (``malformed``) that says what is wrong.

    Refused: what is not UTF-8 or not JSON; nesting deeper than MAX_DEPTH (Python's parser
    recurses, so 50,000 levels of "[" were a RecursionError, and a 500); a number too long for
    Python to convert (a ValueError); a string, or a key, holding a lone surrogate, which JSON
    can escape ("\\ud800") but UTF-8 cannot hold, so it could be neither stored nor sent on."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise malformed("invalid JSON: not UTF-8") from None
    _check_nesting(text)
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
        raise malformed(f"invalid JSON: {exc.__class__.__name__}") from None
    if _SURROGATE_ESCAPE.search(text) and not _utf8_only(data):
        raise malformed("invalid JSON: a string holds a lone surrogate (\\ud800-\\udfff escaped without its pair)")
    return data


def _check_nesting(text: str) -> None:
    """Refuse JSON nested deeper than MAX_DEPTH, before the parser sees it.

    Strings are taken out first (brackets in a text count for nothing), then everything but the
    brackets; both are regular expressions that never look back, so a body costs two passes over
    it, however odd, and a walk over its brackets that stops at the first one too deep."""
    depth = 0
    for char in _NOT_BRACKET.sub("", _STRING.sub("", text)):
        if char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise malformed(f"invalid JSON: nested deeper than {MAX_DEPTH} levels")
        else:
            depth -= 1
            if depth < 0:
                raise malformed("invalid JSON: a bracket closes what was not opened")


def _utf8_only(data: Any) -> bool:
    """True when every string and key in ``data`` can be written as UTF-8 (no lone surrogate)."""
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def require(condition: bool, reason: str) -> None:
    if not condition:
        raise malformed(reason)


def retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date), if it has one."""
    raw = headers.get("Retry-After")
    if not raw:
        return None
    raw = raw.strip()
    if raw.isdigit():
        return min(float(raw), MAX_RETRY_AFTER)
    try:
        when = email.utils.parsedate_to_datetime(raw).timestamp()
    except (TypeError, ValueError):
        return None
    return min(max(0.0, when - (now if now is not None else time.time())), MAX_RETRY_AFTER)


def classify(status: int, headers: Mapping[str, str]) -> SendResult:
    """2xx delivered; 429 and 5xx worth retrying (after Retry-After if given); other 4xx never."""
    if 200 <= status < 300:
        return SendResult(ok=True)
    if status == 429 or status >= 500:
        wait = retry_after(headers)
        return SendResult(ok=False, retry_after=wait if wait is not None else 0.0, reason=f"HTTP {status}")
    return SendResult(ok=False, reason=f"HTTP {status}")


async def post(session: aiohttp.ClientSession, url: str, call: ApiCall,
               headers: Mapping[str, str] | None = None) -> tuple[int, Mapping[str, str], bytes]:
    """POST one call's body; the URL may hold a token, so it never goes into an exception message."""
    kwargs: dict[str, Any] = {"headers": dict(headers or {})}
    if call.form is not None:
        kwargs["data"] = call.form
    else:
        kwargs["json"] = call.json
    async with session.post(url, **kwargs) as response:
        return response.status, response.headers, await response.read()


def transport_failure(exc: BaseException) -> SendResult:
    """A connection error or timeout: try again (the reason names no URL, which may hold a token)."""
    return SendResult(ok=False, retry_after=0.0, reason=f"transport: {exc.__class__.__name__}")
