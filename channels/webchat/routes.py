"""The web chat's HTTP side, registered by channels.app when WEBCHAT_ENABLED:

    GET  /chat                  the page (static/webchat.html: no framework, no external resource)
    POST /chat/api/messages     a person's message or button press; answered with the bot's replies
    GET  /chat/api/messages     replies that arrived since the page last looked (operator replies)
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from aiohttp import web

from channels.base import WebhookRequest
from channels.errors import ChannelError, Rejected
from channels.observability import log_event
from channels.webchat.channel import MAX_BODY, WebChat, message_out, parse_after, parse_post, parse_session

if TYPE_CHECKING:
    from channels.gateway import Gateway

# How long a POST waits for the bot's answer; after that the page keeps polling for it.
REPLY_WAIT = 25.0
PAGE_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
                "X-Frame-Options": "DENY", "Cache-Control": "no-cache"}
API_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}


class WebChatRoutes:
    """The HTTP side: reads requests, asks the gateway, answers JSON. Parsing stays in parse_post."""

    def __init__(self, channel: WebChat, gateway: Gateway) -> None:
        self.channel = channel
        self.gateway = gateway

    async def index(self, request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/chat")

    async def page(self, request: web.Request) -> web.StreamResponse:
        headers = {**PAGE_HEADERS, "Content-Security-Policy": self.channel.csp, "ETag": f'"{self.channel.etag}"'}
        if request.headers.get("If-None-Match") == headers["ETag"]:
            return web.Response(status=304, headers=headers)
        response = web.Response(body=self.channel.page, content_type="text/html", charset="utf-8",
                                headers=headers)
        response.enable_compression()  # about a third of the size over a slow connection
        return response

    async def post(self, request: web.Request) -> web.StreamResponse:
        try:
            incoming = await self._read(request)
            self.channel.verify(incoming)
            post = parse_post(incoming.body)
        except Rejected as exc:
            return self._rejected(exc)
        row_id = await self.gateway.accept(post.inbound)
        pending = False
        if row_id is not None:
            await self.gateway.wait_processed(row_id, timeout=REPLY_WAIT)
            # still queued (Rasa slow or down and retried later): the page keeps polling for it
            pending = await self.gateway.db(self.gateway.store.inbox_status, row_id) != "done"
        # A retried send (row_id None) gets whatever has arrived; if the first copy is still being
        # answered, the page's polling brings the reply a few seconds later.
        messages = await self._mailbox(post.inbound.user_id, post.after)
        return web.json_response({"messages": messages, "pending": pending}, headers=API_HEADERS)

    async def poll(self, request: web.Request) -> web.StreamResponse:
        try:
            session = parse_session(request.query.get("session"))
            after = parse_after(request.query.get("after", "0"))
        except Rejected as exc:
            return self._rejected(exc)
        messages = await self._mailbox(session, after)
        return web.json_response({"messages": messages, "pending": False}, headers=API_HEADERS)

    async def _read(self, request: web.Request) -> WebhookRequest:
        if request.content_length is not None and request.content_length > MAX_BODY:
            raise Rejected(413, f"the body is larger than {MAX_BODY} bytes")
        body = await request.read()  # the gateway's client_max_size bounds a body without a length
        if len(body) > MAX_BODY:
            raise Rejected(413, f"the body is larger than {MAX_BODY} bytes")
        return WebhookRequest(method=request.method, url=request.path, headers=request.headers, body=body)

    async def _mailbox(self, session: str, after: int) -> list[dict[str, Any]]:
        conversation = self.gateway.keys.pseudonym(WebChat.name, session)
        rows = await self.gateway.mailbox(conversation, after)
        return [message_out(row_id, message) for row_id, message in rows]

    def _rejected(self, exc: Rejected) -> web.Response:
        self.gateway.metrics.rejected.labels(WebChat.name, str(exc.status)).inc()
        log_event("webchat_rejected", logging.WARNING, status=exc.status, reason=exc.reason)
        return web.json_response({"error": exc.reason}, status=exc.status, headers=API_HEADERS)


def register(app: web.Application, gateway: Gateway) -> None:
    """Add the page and its API to the gateway's app (channels.app does when the web chat is on)."""
    channel = gateway.channels.get(WebChat.name)
    if not isinstance(channel, WebChat):
        raise ChannelError("register() needs the gateway's WebChat channel: set WEBCHAT_ENABLED=true")
    routes = WebChatRoutes(channel, gateway)
    app.router.add_get("/", routes.index)
    app.router.add_get("/chat", routes.page)
    app.router.add_post("/chat/api/messages", routes.post)
    app.router.add_get("/chat/api/messages", routes.poll)
