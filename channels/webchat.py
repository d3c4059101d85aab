"""The web chat: one small page served by the gateway, for people who have no messaging app.

    GET  /chat                  the page (static/webchat.html: no framework, no external resource)
    POST /chat/api/messages     a person's message or button press; answered with the bot's replies
    GET  /chat/api/messages     replies that arrived since the page last looked (operator replies)

There is no platform to call: replies go to the gateway's mailbox table (``mailbox = True``) and
the page reads them. A person is a random session ID the page keeps in localStorage; it is the
only key to the conversation, so it stays out of the logs like any other address.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from channels.base import Channel, WebhookRequest, load_json, require
from channels.errors import ChannelError, Rejected, forbidden, malformed
from channels.models import ApiCall, Inbound, Outbound, Parsed, SendResult
from channels.observability import log_event
from channels.settings import Settings

if TYPE_CHECKING:
    from channels.gateway import Gateway

# Our own limits (there is no platform to impose them). A session ID of 16-64 URL-safe
# characters: the page makes 32 from crypto.getRandomValues (192 bits), so it cannot be guessed.
# https://developer.mozilla.org/en-US/docs/Web/API/Crypto/getRandomValues
SESSION = re.compile(r"[A-Za-z0-9_-]{16,64}")
CLIENT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_TEXT = 2000  # characters a person may type in one message
MAX_PAYLOAD = 1000  # characters of a button payload sent back (Rasa's intent plus entities JSON)
MAX_TITLE = 200  # characters of the button title that comes with it
# 2000 characters of four UTF-8 bytes each, plus JSON escaping and the other fields
MAX_BODY = 16 * 1024
# How long a POST waits for the bot's answer; after that the page keeps polling for it.
REPLY_WAIT = 25.0
PAGE = "webchat.html"
# The page's inline <script> and <style> are allowed by their hashes, so the page is the same
# for everyone and may be cached (ETag) on a slow connection; nothing else may load or run.
# https://developer.mozilla.org/en-US/docs/Web/HTTP/Headers/Content-Security-Policy
CSP = ("default-src 'none'; script-src {script}; style-src {style}; connect-src 'self';"
       " base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
PAGE_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
                "X-Frame-Options": "DENY", "Cache-Control": "no-cache"}
API_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}


@dataclass(frozen=True)
class Post:
    """A validated POST from the page: the message, and the last mailbox ID the page has."""

    inbound: Inbound
    after: int


def parse_post(body: bytes) -> Post:
    """The page's JSON body as a message; a 400 rejection that says what is wrong otherwise."""
    data = load_json(body)
    require(isinstance(data, dict), "the body must be a JSON object")
    session = _session(data.get("session"))
    client_id = data.get("id")
    require(isinstance(client_id, str) and CLIENT_ID.fullmatch(client_id) is not None,
            "id must be 1-64 URL-safe characters (a client message ID, the same when a send is retried)")
    after = _after(data.get("after", 0))
    text, payload = data.get("text"), data.get("payload")
    if payload is not None:
        require(text is None, "send either text or payload, not both")
        require(isinstance(payload, str) and 0 < len(payload) <= MAX_PAYLOAD and bool(payload.strip()),
                f"payload must be 1-{MAX_PAYLOAD} characters")
        title = data.get("title", "")
        require(isinstance(title, str) and len(title) <= MAX_TITLE, f"title must be text of at most {MAX_TITLE}")
        inbound = Inbound(WebChat.name, f"{session}:{client_id}", session, "button", payload)
    else:
        require(isinstance(text, str), "text is missing (or send payload and title for a button)")
        require(bool(text.strip()), "text is empty")
        require(len(text) <= MAX_TEXT, f"text is longer than {MAX_TEXT} characters")
        inbound = Inbound(WebChat.name, f"{session}:{client_id}", session, "text", text)
    return Post(inbound, after)


def _session(value: Any) -> str:
    require(isinstance(value, str) and SESSION.fullmatch(value) is not None,
            "session must be 16-64 URL-safe characters (A-Z a-z 0-9 _ -)")
    return str(value)


def _after(value: Any) -> int:
    if isinstance(value, str) and value.isdigit() and len(value) < 19:
        value = int(value)
    require(isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63,
            "after must be a whole number >= 0 (the last message ID the page has)")
    return int(value)


def same_origin(origin: str, host: str, public_url: str = "") -> bool:
    """True when a browser's Origin header names this site (as the Host header, or the public URL,
    says): the page's own POSTs pass, a form or script on another site does not."""
    if origin == "null":
        return False
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    given = _netloc(parts.scheme, parts.netloc)
    allowed = {_netloc(parts.scheme, host)}
    if public_url:
        public = urlsplit(public_url)
        allowed.add(_netloc(public.scheme, public.netloc))
    return given in allowed


def _netloc(scheme: str, netloc: str) -> str:
    netloc = netloc.lower()
    default = {"http": ":80", "https": ":443"}.get(scheme, "")
    return netloc[: -len(default)] if default and netloc.endswith(default) else netloc


def message_out(row_id: int, message: Any) -> dict[str, Any]:
    """One mailbox entry in the page's shape, whoever wrote it (the bot, or an operator)."""
    message = message if isinstance(message, dict) else {}
    buttons = [{"title": str(b["title"]), "payload": str(b["payload"])} for b in message.get("buttons") or []
               if isinstance(b, dict) and b.get("title") and b.get("payload")]
    return {"id": row_id, "text": str(message.get("text") or ""), "buttons": buttons}


class WebChat(Channel):
    name = "webchat"
    mailbox = True

    def __init__(self, public_url: str = "") -> None:
        self.public_url = public_url
        self.page = (resources.files("channels") / "static" / PAGE).read_bytes()
        self.csp = CSP.format(script=_hashes(self.page, "script"), style=_hashes(self.page, "style"))
        self.etag = hashlib.sha256(self.page).hexdigest()[:32]

    def verify(self, request: WebhookRequest) -> None:
        """Refuse what a browser sends from another site, and bodies that are not JSON.

        The session ID is the only credential, so a page elsewhere must not post as the person:
        a browser always sends Origin on a cross-site POST, and JSON needs a CORS preflight."""
        origin = request.headers.get("Origin")
        if origin is not None and not same_origin(origin, request.headers.get("Host", ""), self.public_url):
            raise forbidden("cross-origin request refused (Origin does not match Host)")
        if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
            raise forbidden("cross-origin request refused (Sec-Fetch-Site)")
        content_type = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            raise malformed("Content-Type must be application/json")

    def parse(self, request: WebhookRequest) -> Parsed:
        return Parsed([parse_post(request.body).inbound])

    def render(self, message: Outbound) -> list[ApiCall]:
        """One mailbox entry per reply: a browser has no length limit to split for."""
        buttons = [{"title": b.title, "payload": b.payload} for b in message.buttons]
        return [ApiCall("mailbox", json={"text": message.text, "buttons": buttons})]

    async def send(self, session: aiohttp.ClientSession, call: ApiCall) -> SendResult:
        raise ChannelError("the web chat has no API to send to: the gateway puts its replies in the mailbox "
                           "(WebChat.mailbox is True), and the page reads them from /chat/api/messages")


def _hashes(page: bytes, tag: str) -> str:
    """CSP source list allowing exactly the inline <tag> elements of the page."""
    found = re.findall(rb"<" + tag.encode() + rb">(.*?)</" + tag.encode() + rb">", page, re.DOTALL)
    if not found:
        return "'none'"
    return " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(body).digest()).decode()}'" for body in found)


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
            session = _session(request.query.get("session"))
            after = _after(request.query.get("after", "0"))
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
        rows = await self.gateway.db(self.gateway.store.mailbox_after, conversation, after)
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


def from_settings(settings: Settings) -> WebChat | None:
    return WebChat(settings.public_url) if settings.webchat else None
