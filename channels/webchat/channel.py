"""The web chat as a channel: what the page may send (``parse_post``), how a reply is put in the
mailbox the page reads (``WebChat.render``), and the page itself with its Content-Security-Policy.

There is no platform to call: replies go to the gateway's mailbox table (``mailbox = True``) and
the page reads them. A person is a session the server issues (``Sessions``: random bytes and a
keyed tag, so a session the server did not make is refused) and the page keeps in localStorage;
it is the only key to the conversation, so it stays out of the logs and out of URLs like any
other address. The HTTP side is channels/webchat/routes.py.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

import aiohttp

from channels.base import Channel, WebhookRequest, load_json, require
from channels.errors import ChannelError, forbidden, malformed
from channels.keys import Secret
from channels.models import ApiCall, Inbound, Outbound, Parsed, SendResult
from channels.origin import same_origin

# Our own limits (there is no platform to impose them). A session is 16-64 URL-safe characters;
# the ones the server issues are 48: 18 random bytes (144 bits, cannot be guessed) and an 18-byte
# HMAC tag over them (cannot be made up), in URL-safe base64.
SESSION = re.compile(r"[A-Za-z0-9_-]{16,64}")
NONCE_BYTES = 18
TAG_BYTES = 18
SESSION_KEY_LABEL = b"webchat-session"  # distinct from channels.keys' labels: a key of its own
CLIENT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_TEXT = 2000  # characters a person may type in one message
MAX_PAYLOAD = 1000  # characters of a button payload sent back (Rasa's intent plus entities JSON)
MAX_TITLE = 200  # characters of the button title that comes with it
# 2000 characters of four UTF-8 bytes each, plus JSON escaping and the other fields
MAX_BODY = 16 * 1024
PAGE = "webchat.html"
# The interface's strings per language; a page carries English and one more language only, so it
# stays small on a phone however many languages the assistant speaks (Accept-Language chooses).
STRINGS = "strings.json"
STRINGS_SLOT = b"{/*strings*/}"
# The page's inline <script> and <style> are allowed by their hashes, so each language's page is
# the same for everyone and may be cached (ETag) on a slow connection; nothing else may load or run.
# https://developer.mozilla.org/en-US/docs/Web/HTTP/Headers/Content-Security-Policy
CSP = ("default-src 'none'; script-src {script}; style-src {style}; connect-src 'self';"
       " base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


@dataclass(frozen=True)
class Post:
    """A validated POST from the page: the message, and the last mailbox ID the page has."""

    inbound: Inbound
    after: int


class Sessions:
    """Web chat sessions the server issues and recognises, with a key derived from GATEWAY_SECRET.

    A session the page chose for itself could be weak, or someone else's guess; only the server
    makes them now. Nothing is stored: the tag proves the server made it."""

    def __init__(self, secret: Secret) -> None:
        self._key = hmac.new(secret.reveal().encode("utf-8"), SESSION_KEY_LABEL, hashlib.sha256).digest()

    def issue(self) -> str:
        nonce = secrets.token_bytes(NONCE_BYTES)
        return base64.urlsafe_b64encode(nonce + self._tag(nonce)).decode("ascii")

    def issued(self, session: str) -> bool:
        """True for a session this server (this GATEWAY_SECRET) issued; checked in constant time."""
        if len(session) != 4 * (NONCE_BYTES + TAG_BYTES) // 3 or SESSION.fullmatch(session) is None:
            return False
        raw = base64.urlsafe_b64decode(session)  # 48 URL-safe characters always decode, to 36 bytes
        return hmac.compare_digest(raw[NONCE_BYTES:], self._tag(raw[:NONCE_BYTES]))

    def _tag(self, nonce: bytes) -> bytes:
        return hmac.new(self._key, nonce, hashlib.sha256).digest()[:TAG_BYTES]


def parse_post(body: bytes) -> Post:
    """The page's JSON body as a message; a 400 rejection that says what is wrong otherwise."""
    data = load_json(body)  # refuses deep nesting and lone surrogates (400) as well
    require(isinstance(data, dict), "the body must be a JSON object")
    session = parse_session(data.get("session"))
    client_id = data.get("id")
    require(isinstance(client_id, str) and CLIENT_ID.fullmatch(client_id) is not None,
            "id must be 1-64 URL-safe characters (a client message ID, the same when a send is retried)")
    after = parse_after(data.get("after", 0))
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


def parse_session(value: Any) -> str:
    require(isinstance(value, str) and SESSION.fullmatch(value) is not None,
            "session must be 16-64 URL-safe characters (A-Z a-z 0-9 _ -)")
    return str(value)


def parse_after(value: Any) -> int:
    if isinstance(value, str) and value.isdigit() and len(value) < 19:
        value = int(value)
    require(isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63,
            "after must be a whole number >= 0 (the last message ID the page has)")
    return int(value)


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
        static = resources.files("channels.webchat") / "static"
        template = (static / PAGE).read_bytes()
        strings = json.loads((static / STRINGS).read_text("utf-8"))
        if STRINGS_SLOT not in template or "en" not in strings:
            raise ChannelError(f"{PAGE} needs {STRINGS_SLOT.decode()} and {STRINGS} an 'en' list")
        self.pages = {lang: Page.build(template, {"en": strings["en"], lang: texts})
                      for lang, texts in strings.items()}

    def page(self, accept_language: str | None) -> Page:
        """The page in the first language of ``accept_language`` (an Accept-Language header) that
        the interface has, English otherwise."""
        return self.pages[pick_language(accept_language, self.pages)]

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


@dataclass(frozen=True)
class Page:
    """One language's page, with the CSP that allows its inline script and style, and its ETag."""

    body: bytes
    csp: str
    etag: str

    @classmethod
    def build(cls, template: bytes, strings: dict[str, list[str]]) -> Page:
        body = template.replace(STRINGS_SLOT, json.dumps(strings, ensure_ascii=False).encode())
        return cls(body, CSP.format(script=_hashes(body, "script"), style=_hashes(body, "style")),
                   hashlib.sha256(body).hexdigest()[:32])


def pick_language(accept_language: str | None, available: Mapping[str, object]) -> str:
    """The first language of an Accept-Language header ("ur-PK,ur;q=0.9,en;q=0.8") with a page,
    by its quality weights; "en" when none has one."""
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate((accept_language or "").split(",")):
        code, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        ranked.append((-weight, i, code.strip().split("-")[0].lower()))
    return next((code for weight, _, code in sorted(ranked) if weight < 0 and code in available), "en")


def _hashes(page: bytes, tag: str) -> str:
    """CSP source list allowing exactly the inline <tag> elements of the page."""
    found = re.findall(rb"<" + tag.encode() + rb">(.*?)</" + tag.encode() + rb">", page, re.DOTALL)
    if not found:
        return "'none'"
    return " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(body).digest()).decode()}'" for body in found)
