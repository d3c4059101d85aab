"""Viber REST Bot API.

Webhook: one callback per request (Viber does not batch), signed with the bot's auth token: header
``X-Viber-Content-Signature`` is the hex HMAC-SHA256 of the raw body. Replies: ``send_message`` with
the token in the ``X-Viber-Auth-Token`` header and a custom keyboard of reply buttons.

Viber answers HTTP 200 even when a send fails: the outcome is the ``status`` in the JSON body
(0 is success), so ``send`` reads it and decides between retrying and dropping.

Docs: https://developers.viber.com/docs/api/rest-bot-api/#callbacks, #send-message,
#error-codes, https://developers.viber.com/docs/tools/keyboards/.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from channels.base import Channel, WebhookRequest, classify, load_json, post, require
from channels.errors import Rejected, forbidden, unauthorized
from channels.keys import Secret, equal
from channels.models import ApiCall, Button, Inbound, Outbound, Parsed, SendResult
from channels.settings import read_group
from channels.text import split_text

SIGNATURE_HEADER = "X-Viber-Content-Signature"
AUTH_HEADER = "X-Viber-Auth-Token"

# https://developers.viber.com/docs/api/rest-bot-api/#send-message
#   text: max 7000 characters; sender.name: max 28 characters; min_api_version: the lowest client
#   API level that may receive the message (7 has every keyboard field used here).
MAX_TEXT = 7000
MAX_SENDER_NAME = 28
MIN_API_VERSION = 7
# https://developers.viber.com/docs/tools/keyboards/#buttons-parameters
#   a keyboard holds at most 24 buttons; a button's Text is at most 250 characters; a keyboard row
#   is 6 columns wide, so Columns 6 puts one button on each row (long titles stay readable).
MAX_BUTTONS = 24
MAX_BUTTON_TEXT = 250
BUTTON_COLUMNS = 6
BUTTON_ROWS = 1

# https://developers.viber.com/docs/api/rest-bot-api/#error-codes
# The status a send_message answer carries in its body. Only a breach of rate control and Viber's
# own general error (any code not in this table) pass with time; the rest need a person to act
# (a new token, a paid balance, the user subscribing again), so retrying cannot help.
STATUS_OK = 0
STATUS_TOO_MANY_REQUESTS = 12
STATUS_NAMES = {
    1: "invalidUrl",
    2: "invalidAuthToken",
    3: "badData",
    4: "missingData",
    5: "receiverNotRegistered",
    6: "receiverNotSubscribed",
    7: "publicAccountBlocked",
    8: "publicAccountNotFound",
    9: "publicAccountSuspended",
    10: "webhookNotSet",
    11: "receiverNoSuitableDevice",
    12: "tooManyRequests",
    13: "apiVersionNotSupported",
    14: "incompatibleWithVersion",
    15: "publicAccountNotAuthorized",
    16: "inchatReplyMessageNotAllowed",
    17: "publicAccountIsNotInline",
    18: "noPublicChat",
    19: "cannotSendBroadcast",
    20: "broadcastNotAllowed",
    21: "unsupportedCountry",
    22: "paymentUnsupported",
    23: "freeMessagesExceeded",
    24: "noBalance",
}
RETRYABLE_STATUSES = frozenset({STATUS_TOO_MANY_REQUESTS})

# https://developers.viber.com/docs/api/rest-bot-api/#message-types (what a person can send a bot)
MEDIA_TYPES = frozenset({"picture", "video", "file", "sticker", "location", "contact", "url"})
# Callbacks that are not a person writing: answered 200 and ignored, with the reason logged.
IGNORED_REASONS = {
    "conversation_started": "event conversation_started (the person opened the chat but has not written yet)",
    "subscribed": "event subscribed",
    "unsubscribed": "event unsubscribed",
    "delivered": "event delivered",
    "seen": "event seen",
    "failed": "event failed",
    "webhook": "event webhook (Viber checking the webhook URL)",
    "client_status": "event client_status",
}
MAX_EVENT_NAME = 40  # how much of an unknown event's name goes into a log line
API_BASE = "https://chatapi.viber.com/pa"


@dataclass(frozen=True)
class ViberSettings:
    auth_token: Secret
    bot_name: str = "Rights assistant"
    api_base: str = API_BASE

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ViberSettings | None:
        """VIBER_AUTH_TOKEN (and _BOT_NAME, _API_BASE); None when the token is not set."""
        return read_group(env, cls, "VIBER", secrets=("AUTH_TOKEN",), plain=("BOT_NAME", "API_BASE"))


class Viber(Channel):
    name = "viber"

    def __init__(self, settings: ViberSettings) -> None:
        self.settings = settings
        self.sender_name = settings.bot_name[:MAX_SENDER_NAME]

    def verify(self, request: WebhookRequest) -> None:
        given = request.headers.get(SIGNATURE_HEADER)
        if not given:
            raise unauthorized(f"missing {SIGNATURE_HEADER}")
        expected = hmac.new(self.settings.auth_token.reveal().encode("utf-8"), request.body,
                            hashlib.sha256).hexdigest()
        if not equal(given.strip().lower(), expected):
            raise forbidden(f"wrong {SIGNATURE_HEADER}")

    def parse(self, request: WebhookRequest) -> Parsed:
        callback = load_json(request.body)
        require(isinstance(callback, dict) and isinstance(callback.get("event"), str),
                "not a Viber callback: no event name")
        event = callback["event"]
        if event != "message":
            return Parsed(ignored=[IGNORED_REASONS.get(event, f"event {event[:MAX_EVENT_NAME]}")])
        sender, message = callback.get("sender"), callback.get("message")
        require(isinstance(sender, dict) and isinstance(sender.get("id"), str) and bool(sender["id"]),
                "message callback without sender.id")
        require(isinstance(message, dict) and isinstance(message.get("type"), str),
                "message callback without message.type")
        token = callback.get("message_token")
        require((isinstance(token, int) and not isinstance(token, bool)) or (isinstance(token, str) and bool(token)),
                "message callback without message_token")
        message_id, user = str(token), sender["id"]
        kind = message["type"]
        if kind == "text":
            text = message.get("text")
            require(isinstance(text, str), "text message without text")
            if not text.strip():
                return Parsed(ignored=["empty text message"])
            # a keyboard button press arrives as a text message whose text is the button's ActionBody
            # (our payloads are Rasa intents, which start with "/")
            return Parsed([Inbound(self.name, message_id, user, "button" if text.startswith("/") else "text", text)])
        if kind in MEDIA_TYPES:
            return Parsed([Inbound(self.name, message_id, user, "media")])
        return Parsed(ignored=[f"message type {kind[:MAX_EVENT_NAME]}"])

    def render(self, message: Outbound) -> list[ApiCall]:
        parts = split_text(message.text, MAX_TEXT)
        buttons = message.buttons[:MAX_BUTTONS]
        if not parts and not buttons:
            return []
        if not parts:
            parts = ["…"]  # Viber wants text in a text message; the keyboard is what matters here
        bodies = [self._text(message.user_id, part) for part in parts]
        if buttons:  # on the last part, so the options show under the end of the answer
            bodies[-1]["keyboard"] = keyboard(buttons)
        return [ApiCall("send_message", json=body) for body in bodies]

    async def send(self, session: aiohttp.ClientSession, call: ApiCall) -> SendResult:
        url = f"{self.settings.api_base}/{call.path}"
        status, headers, body = await post(session, url, call,
                                           headers={AUTH_HEADER: self.settings.auth_token.reveal()})
        if status != 200:
            return classify(status, headers)
        return outcome(body)

    def _text(self, user_id: str, text: str) -> dict[str, Any]:
        return {"receiver": user_id, "min_api_version": MIN_API_VERSION, "sender": {"name": self.sender_name},
                "type": "text", "text": text}


def keyboard(buttons: tuple[Button, ...]) -> dict[str, Any]:
    """A custom keyboard of reply buttons, one per row: pressing one sends its payload back as text."""
    return {"Type": "keyboard", "DefaultHeight": False,
            "Buttons": [{"ActionType": "reply", "ActionBody": b.payload, "Text": _title(b.title),
                         # Silent: the payload ("/affirm") is not shown in the chat as the person's words
                         "Columns": BUTTON_COLUMNS, "Rows": BUTTON_ROWS, "Silent": True} for b in buttons]}


def outcome(body: bytes) -> SendResult:
    """What an HTTP 200 from Viber means: its body's ``status`` says whether the message went out.

    The reason names the status, never ``status_message``, which is Viber's free text and could
    quote the receiver. An unreadable answer is retried: a duplicate reply does less harm than a
    lost one."""
    try:
        data = load_json(body)
    except Rejected:
        return SendResult(ok=False, retry_after=0.0, reason="viber: unreadable answer")
    code = data.get("status") if isinstance(data, dict) else None
    if not isinstance(code, int) or isinstance(code, bool):
        return SendResult(ok=False, retry_after=0.0, reason="viber: answer without a status")
    if code == STATUS_OK:
        return SendResult(ok=True)
    name = STATUS_NAMES.get(code, "generalError")
    reason = f"viber status {code} {name}"
    if code in RETRYABLE_STATUSES or code not in STATUS_NAMES:
        return SendResult(ok=False, retry_after=0.0, reason=reason)
    return SendResult(ok=False, reason=reason)


def _title(title: str) -> str:
    return title if len(title) <= MAX_BUTTON_TEXT else title[: MAX_BUTTON_TEXT - 1] + "…"


def from_env(env: Mapping[str, str]) -> Viber | None:
    settings = ViberSettings.from_env(env)
    return Viber(settings) if settings else None
