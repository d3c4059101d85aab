"""The web chat's HTTP side, registered by channels.app when WEBCHAT_ENABLED:

    GET  /chat                  the page (static/webchat.html: no framework, no external resource)
    POST /chat/api/session      a new session for the page, issued by the server
    POST /chat/api/messages     a person's message or button press; answered with the bot's replies
    GET  /chat/api/messages     replies that arrived since the page last looked (operator replies);
                                the session goes in the X-Chat-Session header, never in the URL

Anyone may use the web chat without a credential, so everything that makes work is limited
(429 with Retry-After beyond a limit, and nothing is accepted):

- per client IP (channels.limits.client_ip): messages (WEBCHAT_IP_RATE/_BURST); new sessions
  (a tenth of that rate: a person needs one per browser); polls (ten times that: a page polls
  every few seconds);
- per session: messages (WEBCHAT_SESSION_RATE/_BURST);
- unanswered web chat messages: WEBCHAT_SESSION_PENDING per session, WEBCHAT_MAX_PENDING in all,
  so that however many networks a flood comes from, it can put only so much in front of the
  people writing on the other channels.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from channels.base import WebhookRequest
from channels.errors import ChannelError, Rejected, malformed, unauthorized
from channels.limits import TokenBuckets, client_ip, ip_key, retry_after
from channels.observability import log_event
from channels.webchat.channel import MAX_BODY, Sessions, WebChat, message_out, parse_after, parse_post, parse_session

if TYPE_CHECKING:
    from channels.gateway import Gateway

# How long a POST waits for the bot's answer; after that the page keeps polling for it.
REPLY_WAIT = 25.0
# A page polls every 4 s (1.5 s while it waits for an answer): polls are cheap and come often.
POLLS_PER_MESSAGE = 10
# A browser keeps its session, so new sessions come far more rarely than messages.
MESSAGES_PER_SESSION = 10
# What a sender over a cap on unanswered messages is told to wait: about what Rasa takes to work
# through a full web chat queue (WEBCHAT_MAX_PENDING = 100 at about 22 messages a second).
PENDING_WAIT = 5.0
SESSION_HEADER = "X-Chat-Session"
PAGE_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
                "X-Frame-Options": "DENY", "Cache-Control": "no-cache"}
API_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}


class Limited(Exception):
    """A request over one of the limits: answered 429 with Retry-After."""

    def __init__(self, limit: str, wait: float, reason: str) -> None:
        super().__init__(reason)
        self.limit = limit
        self.wait = wait
        self.reason = reason


class WebChatRoutes:
    """The HTTP side: reads requests, asks the gateway, answers JSON. Parsing stays in parse_post."""

    def __init__(self, channel: WebChat, gateway: Gateway, clock: Callable[[], float] = time.monotonic) -> None:
        self.channel = channel
        self.gateway = gateway
        settings = gateway.settings
        self.sessions = Sessions(settings.secret)
        self.trust_proxy = settings.trust_proxy
        rate, burst = settings.webchat_ip_rate, settings.webchat_ip_burst
        self.ip_messages = TokenBuckets(rate, burst, clock=clock)
        self.ip_polls = TokenBuckets(rate * POLLS_PER_MESSAGE, burst * POLLS_PER_MESSAGE, clock=clock)
        self.ip_sessions = TokenBuckets(rate / MESSAGES_PER_SESSION, burst, clock=clock)
        self.session_messages = TokenBuckets(settings.webchat_session_rate, settings.webchat_session_burst,
                                             clock=clock)
        # the count of unanswered messages and the accept that adds one happen together
        self._admission = asyncio.Lock()

    async def index(self, request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/chat")

    async def page(self, request: web.Request) -> web.StreamResponse:
        page = self.channel.page(request.headers.get("Accept-Language"))
        headers = {**PAGE_HEADERS, "Content-Security-Policy": page.csp, "ETag": f'"{page.etag}"',
                   "Vary": "Accept-Language"}
        if request.headers.get("If-None-Match") == headers["ETag"]:
            return web.Response(status=304, headers=headers)
        response = web.Response(body=page.body, content_type="text/html", charset="utf-8", headers=headers)
        response.enable_compression()  # about a third of the size over a slow connection
        return response

    async def issue(self, request: web.Request) -> web.StreamResponse:
        """A new session, for a page that has none (or whose session the server does not know)."""
        try:
            self._take(self.ip_sessions, self._ip(request), "ip_session",
                       "too many new chats from this network")
            self.channel.verify(await self._read(request))
        except Limited as exc:
            return self._limited(exc)
        except Rejected as exc:
            return self._rejected(exc)
        return web.json_response({"session": self.sessions.issue()}, headers=API_HEADERS)

    async def post(self, request: web.Request) -> web.StreamResponse:
        try:
            self._take(self.ip_messages, self._ip(request), "ip", "too many messages from this network")
            incoming = await self._read(request)
            self.channel.verify(incoming)
            post = parse_post(incoming.body)
            session = self._known(post.inbound.user_id)
            self._take(self.session_messages, session, "session", "too many messages in this chat")
            async with self._admission:
                await self._room_for(session)
                row_id = await self.gateway.accept(post.inbound)
        except Limited as exc:
            return self._limited(exc)
        except Rejected as exc:
            return self._rejected(exc)
        pending = False
        if row_id is not None:
            await self.gateway.wait_processed(row_id, timeout=REPLY_WAIT)
            # still queued (Rasa slow or down and retried later): the page keeps polling for it
            pending = await self.gateway.db(self.gateway.store.inbox_status, row_id) != "done"
        # A retried send (row_id None) gets whatever has arrived; if the first copy is still being
        # answered, the page's polling brings the reply a few seconds later.
        messages = await self._mailbox(session, post.after)
        return web.json_response({"messages": messages, "pending": pending}, headers=API_HEADERS)

    async def poll(self, request: web.Request) -> web.StreamResponse:
        try:
            self._take(self.ip_polls, self._ip(request), "ip_poll", "too many requests from this network")
            if SESSION_HEADER not in request.headers:
                raise malformed(f"send the session in the {SESSION_HEADER} header (not in the URL, where "
                                "proxies would log it)")
            session = self._known(parse_session(request.headers[SESSION_HEADER]))
            after = parse_after(request.query.get("after", "0"))
        except Limited as exc:
            return self._limited(exc)
        except Rejected as exc:
            return self._rejected(exc)
        messages = await self._mailbox(session, after)
        return web.json_response({"messages": messages, "pending": False}, headers=API_HEADERS)

    def _ip(self, request: web.Request) -> str:
        return ip_key(client_ip(request, self.trust_proxy))

    def _take(self, buckets: TokenBuckets, key: str, limit: str, reason: str) -> None:
        wait = buckets.take(key)
        if wait:
            raise Limited(limit, wait, f"{reason}: wait {retry_after(wait)} s and try again")

    def _known(self, session: str) -> str:
        if not self.sessions.issued(session):
            raise unauthorized("this chat session was not issued here (or the gateway's secret changed): "
                               "ask POST /chat/api/session for a new one")
        return session

    async def _room_for(self, session: str) -> None:
        """Refuse a message while too many web chat messages wait for an answer (this session's, or all)."""
        settings, store = self.gateway.settings, self.gateway.store
        conversation = self.gateway.keys.pseudonym(WebChat.name, session)
        if await self.gateway.db(store.pending, WebChat.name, conversation) >= settings.webchat_session_pending:
            raise Limited("session_pending", PENDING_WAIT,
                          f"your last messages are still unanswered: wait {retry_after(PENDING_WAIT)} s")
        if await self.gateway.db(store.pending, WebChat.name) >= settings.webchat_max_pending:
            raise Limited("pending", PENDING_WAIT,
                          f"the chat is very busy: wait {retry_after(PENDING_WAIT)} s and try again")

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

    def _limited(self, exc: Limited) -> web.Response:
        """429: the limit is named in the log (never the address or the session) and in /metrics."""
        self.gateway.metrics.rejected.labels(WebChat.name, "429").inc()
        log_event("webchat_limited", limit=exc.limit)
        return web.json_response({"error": exc.reason}, status=429,
                                 headers={**API_HEADERS, "Retry-After": retry_after(exc.wait)})


def register(app: web.Application, gateway: Gateway) -> None:
    """Add the page and its API to the gateway's app (channels.app does when the web chat is on)."""
    channel = gateway.channels.get(WebChat.name)
    if not isinstance(channel, WebChat):
        raise ChannelError("register() needs the gateway's WebChat channel: set WEBCHAT_ENABLED=true")
    routes = WebChatRoutes(channel, gateway)
    app.router.add_get("/", routes.index)
    app.router.add_get("/chat", routes.page)
    app.router.add_post("/chat/api/session", routes.issue)
    app.router.add_post("/chat/api/messages", routes.post)
    app.router.add_get("/chat/api/messages", routes.poll)
