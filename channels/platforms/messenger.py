"""Facebook Messenger Platform (a Facebook Page's inbox).

Webhook: ``{"object": "page", "entry": [{"id": <page>, "messaging": [<event>, ...]}]}``, signed with
the app secret (see channels.platforms.meta). Several entries and events may come in one request: every one
is processed. An event is a message (text, a quick reply, attachments, or an echo of what the Page
sent), a postback (a button press), or a delivery, read, reaction, ... notice, which is ignored.

Replies: ``POST /me/messages`` with the Page token as a Bearer header, options as quick replies.

Docs: https://developers.facebook.com/docs/messenger-platform/webhooks,
https://developers.facebook.com/docs/messenger-platform/reference/webhook-events/messages,
https://developers.facebook.com/docs/messenger-platform/reference/send-api/
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from channels.base import WebhookRequest, load_json, require
from channels.keys import Secret
from channels.models import ApiCall, Inbound, Outbound, Parsed
from channels.platforms.meta import ELLIPSIS, GRAPH_API, MetaChannel, dig, filled, shorten
from channels.settings import read_group
from channels.text import split_text

# https://developers.facebook.com/docs/messenger-platform/reference/send-api/#message
#   message.text: max 2000 characters.
MAX_TEXT = 2000
# https://developers.facebook.com/docs/messenger-platform/send-messages/quick-replies
#   at most 13 quick replies; title max 20 characters; payload max 1000 characters.
MAX_QUICK_REPLIES = 13
MAX_QUICK_REPLY_TITLE = 20
MAX_PAYLOAD = 1000
# https://developers.facebook.com/docs/messenger-platform/send-messages/#messaging_types
#   every reply here answers a person's message, inside the 24-hour window.
MESSAGING_TYPE = "RESPONSE"
SEND_PATH = "me/messages"
# https://developers.facebook.com/docs/messenger-platform/error-codes
#   2 temporary (retry later), 4 application request limit, 17 user request limit, 32 Page request
#   limit, 613 calls over the rate limit, 1200 temporary send failure: all can come as HTTP 400.
RETRYABLE_CODES = frozenset({2, 4, 17, 32, 613, 1200})
# what an event carries besides its payload: the payload's key names the event type
ENVELOPE_KEYS = frozenset({"sender", "recipient", "timestamp"})
MAX_NAME = 40  # how much of an unknown event name goes into a log line


@dataclass(frozen=True)
class MessengerSettings:
    app_secret: Secret
    verify_token: Secret
    page_token: Secret
    api_base: str = GRAPH_API

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> MessengerSettings | None:
        """MESSENGER_APP_SECRET, _VERIFY_TOKEN, _PAGE_TOKEN (and _API_BASE); None when none is set."""
        return read_group(env, cls, "MESSENGER", secrets=("APP_SECRET", "VERIFY_TOKEN", "PAGE_TOKEN"),
                          plain=("API_BASE",))


class Messenger(MetaChannel):
    name = "messenger"
    retryable_codes = RETRYABLE_CODES

    def __init__(self, settings: MessengerSettings) -> None:
        super().__init__(settings.app_secret, settings.verify_token, settings.page_token, settings.api_base)

    def parse(self, request: WebhookRequest) -> Parsed:
        data = load_json(request.body)
        require(isinstance(data, dict) and data.get("object") == "page", "not a Messenger webhook: object is not page")
        entries = data.get("entry")
        require(isinstance(entries, list), "webhook without an entry list")
        messages: list[Inbound] = []
        ignored: list[str] = []
        for entry in entries:
            require(isinstance(entry, dict), "entry is not an object")
            events = entry.get("messaging")
            if events is None:
                # standby: another app (a human inbox) has the conversation and answers it
                ignored.append("standby event" if "standby" in entry else "entry without messaging")
                continue
            require(isinstance(events, list), "messaging is not a list")
            for event in events:
                result = self._event(event)
                if isinstance(result, Inbound):
                    messages.append(result)
                else:
                    ignored.append(result)
        return Parsed(messages, ignored)

    def _event(self, event: Any) -> Inbound | str:
        """The event as an Inbound, or the reason it is ignored."""
        require(isinstance(event, dict), "messaging event is not an object")
        message, postback = event.get("message"), event.get("postback")
        if message is not None:
            require(isinstance(message, dict), "message is not an object")
            if message.get("is_echo"):
                return "echo of a message the Page sent"
            sender, mid = _sender(event), message.get("mid")
            require(filled(mid), "message without mid")
            payload = dig(message, "quick_reply", "payload")
            if filled(payload):
                return Inbound(self.name, mid, sender, "button", payload)
            text = message.get("text")
            if filled(text) and text.strip():
                return Inbound(self.name, mid, sender, "text", text)
            attachments = message.get("attachments")
            if isinstance(attachments, list) and attachments:
                return Inbound(self.name, mid, sender, "media")
            return "message without text or attachments"
        if postback is not None:
            require(isinstance(postback, dict), "postback is not an object")
            sender, payload = _sender(event), postback.get("payload")
            if not filled(payload):
                return "postback without payload"
            mid = postback.get("mid")
            if not filled(mid):  # older postbacks have no mid: the sender's clock tick identifies it
                timestamp = event.get("timestamp")
                require(isinstance(timestamp, int) and not isinstance(timestamp, bool),
                        "postback without mid or timestamp")
                mid = f"postback:{sender}:{timestamp}"
            return Inbound(self.name, mid, sender, "button", payload)
        kind = next((key for key in event if key not in ENVELOPE_KEYS), "")
        return f"event {kind[:MAX_NAME] or 'without content'}"  # delivery, read, reaction, optin, ...

    def render(self, message: Outbound) -> list[ApiCall]:
        parts = split_text(message.text, MAX_TEXT)
        replies = [{"content_type": "text", "title": shorten(b.title.strip(), MAX_QUICK_REPLY_TITLE),
                    "payload": b.payload}
                   for b in message.buttons if b.payload and len(b.payload) <= MAX_PAYLOAD][:MAX_QUICK_REPLIES]
        if not parts and not replies:
            return []
        bodies: list[dict[str, Any]] = [{"text": part} for part in parts or [ELLIPSIS]]
        if replies:  # on the last part, so the options show under the end of the answer
            bodies[-1]["quick_replies"] = replies
        return [ApiCall(SEND_PATH, json={"recipient": {"id": message.user_id}, "messaging_type": MESSAGING_TYPE,
                                         "message": body}) for body in bodies]


def _sender(event: dict[str, Any]) -> str:
    sender = dig(event, "sender", "id")
    require((filled(sender) and sender.isdigit()) or (isinstance(sender, int) and not isinstance(sender, bool)),
            "event without sender.id")
    return str(sender)


def from_env(env: Mapping[str, str]) -> Messenger | None:
    settings = MessengerSettings.from_env(env)
    return Messenger(settings) if settings else None
