"""What WhatsApp's Cloud API and Messenger share, being two products of one Meta app.

Both sign every webhook with the app secret (``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the
raw body>``), both confirm a webhook URL with the same GET handshake (``hub.mode=subscribe``, our
verify token, and a ``hub.challenge`` to echo), and both are Graph API endpoints that take the token
as a Bearer header and report failures as ``{"error": {"code": ..., "is_transient": ...}}``.

Docs: https://developers.facebook.com/docs/graph-api/webhooks/getting-started#verification-requests,
#event-notifications (payload validation), https://developers.facebook.com/docs/graph-api/guides/error-handling
"""

from __future__ import annotations

import hashlib
import hmac
import string
from collections.abc import Mapping
from typing import Any, ClassVar

import aiohttp
from aiohttp import web

from channels.base import Channel, WebhookRequest, classify, load_json, post, retry_after
from channels.errors import Rejected, forbidden, malformed, unauthorized
from channels.keys import Secret, equal
from channels.models import ApiCall, SendResult

SIGNATURE_HEADER = "X-Hub-Signature-256"
SIGNATURE_SCHEME = "sha256"  # the only one accepted: the request never chooses the algorithm
SIGNATURE_HEX_LENGTH = 64
# Meta sends a short number as the challenge; a cap keeps us from echoing whatever a caller sends.
MAX_CHALLENGE = 256
HEX_DIGITS = frozenset(string.hexdigits)
ELLIPSIS = "…"
# https://developers.facebook.com/docs/graph-api/guides/versioning
GRAPH_API = "https://graph.facebook.com/v19.0"


class MetaChannel(Channel):
    """Signature check, URL handshake and Graph API sending for a channel of a Meta app.

    Subclasses parse and render; ``retryable_codes`` names the Graph error codes that mean "later"
    even when they come with HTTP 400 (Meta reports most rate limits that way)."""

    retryable_codes: ClassVar[frozenset[int]] = frozenset()

    def __init__(self, app_secret: Secret, verify_token: Secret, access_token: Secret, api_base: str) -> None:
        self._app_secret = app_secret
        self._verify_token = verify_token
        self._access_token = access_token
        self.api_base = api_base.rstrip("/")

    def verify(self, request: WebhookRequest) -> None:
        given = request.headers.get(SIGNATURE_HEADER)
        if not given:
            raise unauthorized(f"missing {SIGNATURE_HEADER}")
        scheme, _, digest = given.strip().partition("=")
        digest = digest.lower()
        # a format check, not a secret-dependent one; it also keeps odd bytes away from the comparison
        well_formed = len(digest) == SIGNATURE_HEX_LENGTH and HEX_DIGITS.issuperset(digest)
        if scheme.lower() != SIGNATURE_SCHEME or not well_formed:
            raise forbidden(f"{SIGNATURE_HEADER} is not {SIGNATURE_SCHEME}=<hex>")
        expected = hmac.new(self._app_secret.reveal().encode("utf-8"), request.body, hashlib.sha256).hexdigest()
        if not equal(digest, expected):
            raise forbidden(f"wrong {SIGNATURE_HEADER}")

    def handshake(self, request: WebhookRequest) -> web.Response:
        """Meta's check that the webhook URL is ours: echo ``hub.challenge`` only to the right verify token.

        The token arrives in the query string, so it must never be logged: the gateway's access log
        leaves query strings out and the rejection reasons below never quote it."""
        if request.query.get("hub.mode") != "subscribe":
            raise forbidden("hub.mode is not subscribe")
        token = request.query.get("hub.verify_token")
        if not token:
            raise forbidden("missing hub.verify_token")
        if not equal(token.encode("utf-8", "surrogatepass"), self._verify_token.reveal().encode("utf-8")):
            raise forbidden("wrong hub.verify_token")
        challenge = request.query.get("hub.challenge", "")
        if not challenge or len(challenge) > MAX_CHALLENGE:
            raise malformed("missing or over-long hub.challenge")
        return web.Response(text=challenge, content_type="text/plain",
                            headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"})

    async def send(self, session: aiohttp.ClientSession, call: ApiCall) -> SendResult:
        # the token goes in a header: a URL can end up in a proxy's log or an exception message
        status, headers, body = await post(session, f"{self.api_base}/{call.path}", call,
                                           headers={"Authorization": f"Bearer {self._access_token.reveal()}"})
        return graph_outcome(status, headers, body, self.retryable_codes)


def graph_outcome(status: int, headers: Mapping[str, str], body: bytes,
                  retryable_codes: frozenset[int]) -> SendResult:
    """What a Graph API answer means for the outbox.

    429 and 5xx are retried as everywhere (``classify``); a 4xx is retried only when its error code
    is a rate limit or Meta marks it ``is_transient``, since the same request can then succeed later.
    The reason names the code and subcode, never Meta's message text, which may quote the recipient."""
    result = classify(status, headers)
    if result.ok:
        return result
    error = graph_error(body)
    code, subcode = _int(error.get("code")), _int(error.get("error_subcode"))
    reason = f"HTTP {status}"
    if code is not None:
        reason += f" graph error {code}" + (f"/{subcode}" if subcode is not None else "")
    if result.retry_after is not None:
        return SendResult(ok=False, retry_after=result.retry_after, reason=reason)
    if code in retryable_codes or error.get("is_transient") is True:
        wait = retry_after(headers)
        return SendResult(ok=False, retry_after=wait if wait is not None else 0.0, reason=reason)
    return SendResult(ok=False, reason=reason)


def graph_error(body: bytes) -> dict[str, Any]:
    """The ``error`` object of a Graph API answer, or {} when there is none to read."""
    try:
        data = load_json(body)
    except Rejected:
        return {}
    error = data.get("error") if isinstance(data, dict) else None
    return error if isinstance(error, dict) else {}


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def shorten(text: str, limit: int) -> str:
    """``text`` within ``limit`` characters, ending in an ellipsis when it had to be cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + ELLIPSIS


def dig(data: Any, *keys: str) -> Any:
    """``data[k1][k2]...`` of a webhook, or None where a level is missing or not an object."""
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def filled(value: Any) -> bool:
    """A non-empty string: what an ID, a payload or a text must be."""
    return isinstance(value, str) and bool(value)
