"""What the public door does before any route sees a request, on every route alike.

A compressed body is refused (415) before any route sees it. aiohttp before 3.13.3 inflates a
``Content-Encoding: gzip`` body in full before ``client_max_size`` can apply (CVE-2025-69223): four
requests of 250 KB took the gateway from 168 to 781 MB. No platform compresses its webhooks and the
web chat's page does not either, so the app is built with ``auto_decompress`` off (the parser hands
over the bytes as sent, never inflated) and this middleware answers 415 to any encoding but
``identity``.

A request aiohttp's parser refuses (a malformed request line or header: 400) is one warning line
without a traceback: aiohttp 3.9 logs it as an error with the request's bytes quoted, which can
hold a token from a query string.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.typedefs import Handler, Middleware

from channels.observability import log_event

# https://www.rfc-editor.org/rfc/rfc9110#name-identity: "no encoding"; RFC 7694 asks a 415 for an
# unsupported request encoding to name what is accepted.
IDENTITY = "identity"
# A transfer coding compresses too ("Transfer-Encoding: gzip, chunked"); aiohttp never inflates
# one, but a body only chunked is all a client has reason to send.
CHUNKED = "chunked"



def refuse_encoded_bodies(limit: int) -> Middleware:
    """A middleware answering 415 to a request whose body is compressed (any Content-Encoding but
    identity, any Transfer-Encoding but chunked); the body is never inflated, and read as sent
    (then dropped) up to ``limit`` bytes."""

    @web.middleware
    async def refuse(request: web.Request, handler: Handler) -> web.StreamResponse:
        if all(coding == IDENTITY for coding in _codings(request, "Content-Encoding")) and all(
                coding == CHUNKED for coding in _codings(request, "Transfer-Encoding")):
            return await handler(request)
        log_event("request_refused", logging.WARNING, path=request.path, status=415, reason="compressed body")
        response = web.json_response({"error": "compressed request bodies are not accepted: send it without "
                                               "Content-Encoding"},
                                     status=415, headers={"Accept-Encoding": IDENTITY})
        if not await _drained(request, limit):
            response.force_close()
        return response

    return refuse


def _codings(request: web.Request, header: str) -> list[str]:
    """The codings a Content-Encoding or Transfer-Encoding header lists, lower case."""
    return [part.strip().lower() for value in request.headers.getall(header, []) for part in value.split(",")
            if part.strip()]


async def _drained(request: web.Request, limit: int) -> bool:
    """Read the body as sent and drop it, up to ``limit`` bytes: False if it is longer (the
    connection then closes). aiohttp 3.9 leaves a connection whose request body was not read
    hanging for its next request (75 s, then a reset); 3.14 does not, and this costs nothing there."""
    if request.content_length is not None and request.content_length > limit:
        return False
    seen = 0
    while chunk := await request.content.readany():
        seen += len(chunk)
        if seen > limit:
            return False
    return True


class ServerLog(logging.LoggerAdapter):
    """aiohttp's server logger for the gateway: a request the HTTP parser refused (4xx) is logged
    as its status and error class only; anything else goes to aiohttp's own logger unchanged."""

    def exception(self, msg: object, *args: object, exc_info: Any = True, **kwargs: Any) -> None:
        if isinstance(exc_info, HttpProcessingError) and 400 <= (exc_info.code or 0) < 500:
            # the error's message quotes the offending request line or header: never logged
            log_event("http_refused", logging.WARNING, status=exc_info.code, error=exc_info.__class__.__name__)
            return
        super().exception(msg, *args, exc_info=exc_info, **kwargs)


def handler_args() -> dict[str, Any]:
    """``web.Application(handler_args=...)`` for the gateway: bodies as sent, parser refusals quiet."""
    return {"auto_decompress": False, "logger": ServerLog(logging.getLogger("aiohttp.server"), {})}
