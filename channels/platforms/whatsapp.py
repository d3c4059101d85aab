"""WhatsApp Business Cloud API.

Webhook: ``{"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "messages",
"value": {"metadata": {"phone_number_id"}, "messages": [...] | "statuses": [...]}}]}]}``, signed
with the app secret (see channels.platforms.meta). One request may batch several entries, changes and
messages: every one is processed. The person is ``from`` (their WhatsApp ID); the reply goes out
through the business number that received the message, ``metadata.phone_number_id``.

Replies: ``POST /{phone_number_id}/messages`` as text, reply buttons (up to 3) or a list (up to 10).

Docs: https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/payload-examples,
https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from channels.base import WebhookRequest, load_json, require
from channels.keys import Secret
from channels.models import ApiCall, Button, Inbound, Kind, Outbound, Parsed
from channels.observability import log_event
from channels.platforms.meta import ELLIPSIS, GRAPH_API, MetaChannel, dig, filled, shorten
from channels.settings import read_group
from channels.text import BREAKS, split_text

# https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages#text-object
#   text.body: max 4096 characters.
MAX_TEXT = 4096
# https://developers.facebook.com/docs/whatsapp/cloud-api/messages/interactive-reply-buttons-messages
#   at most 3 reply buttons; button title max 20 characters and unique in the message; button id
#   max 256 characters; body text max 1024 characters.
MAX_REPLY_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_BUTTON_ID = 256
MAX_BUTTON_BODY = 1024
# https://developers.facebook.com/docs/whatsapp/cloud-api/messages/interactive-list-messages
#   at most 10 rows across all sections; row title max 24, row description max 72, row id max 200;
#   the button that opens the list max 20; section title max 24. The list page now allows a 4096
#   character body, other references still say 1024 for every interactive body: we keep to 1024.
MAX_LIST_ROWS = 10
MAX_ROW_TITLE = 24
MAX_ROW_DESCRIPTION = 72
MAX_ROW_ID = 200
MAX_LIST_BODY = 1024
# The reply does not say which language the person reads, so the label that opens the list (and
# titles its one section) is a symbol rather than a word.
LIST_LABEL = "☰"

# https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/components#messages-object
#   what a person can send that we cannot read: the gateway answers "/media_received" for these.
MEDIA_TYPES = frozenset({"image", "audio", "voice", "video", "document", "sticker", "location", "contacts"})
# https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes
#   4 application request limit, 80007 WhatsApp Business Account rate limit, 130429 throughput
#   limit, 131056 too many messages to the same person: all come as HTTP 400 and pass with time.
RETRYABLE_CODES = frozenset({4, 80007, 130429, 131056})
MAX_NAME = 40  # how much of an unknown type or field name goes into a log line



@dataclass(frozen=True)
class WhatsAppSettings:
    app_secret: Secret
    verify_token: Secret
    access_token: Secret
    api_base: str = GRAPH_API

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> WhatsAppSettings | None:
        """WHATSAPP_APP_SECRET, _VERIFY_TOKEN, _ACCESS_TOKEN (and _API_BASE); None when none is set."""
        return read_group(env, cls, "WHATSAPP", secrets=("APP_SECRET", "VERIFY_TOKEN", "ACCESS_TOKEN"),
                          plain=("API_BASE",))


class WhatsApp(MetaChannel):
    name = "whatsapp"
    retryable_codes = RETRYABLE_CODES

    def __init__(self, settings: WhatsAppSettings) -> None:
        super().__init__(settings.app_secret, settings.verify_token, settings.access_token, settings.api_base)

    def parse(self, request: WebhookRequest) -> Parsed:
        data = load_json(request.body)
        require(isinstance(data, dict) and data.get("object") == "whatsapp_business_account",
                "not a WhatsApp webhook: object is not whatsapp_business_account")
        entries = data.get("entry")
        require(isinstance(entries, list), "webhook without an entry list")
        messages: list[Inbound] = []
        ignored: list[str] = []
        for entry in entries:
            require(isinstance(entry, dict) and isinstance(entry.get("changes"), list), "entry without a changes list")
            for change in entry["changes"]:
                require(isinstance(change, dict), "change is not an object")
                if change.get("field") != "messages":
                    ignored.append(f"field {_name(change.get('field'))}")
                    continue
                self._change(change.get("value"), messages, ignored)
        return Parsed(messages, ignored)

    def _change(self, value: Any, messages: list[Inbound], ignored: list[str]) -> None:
        require(isinstance(value, dict), "messages change without a value object")
        statuses = value.get("statuses") or []
        require(isinstance(statuses, list), "statuses is not a list")
        for status in statuses:
            ignored.append(f"status {_name(status.get('status') if isinstance(status, dict) else None)}")
        if value.get("errors"):
            ignored.append("error notification")
        items = value.get("messages") or []
        require(isinstance(items, list), "messages is not a list")
        if not items:
            return
        metadata = value.get("metadata")
        number = metadata.get("phone_number_id") if isinstance(metadata, dict) else None
        # it becomes part of the reply's URL path, so it must be the digits Meta sends and nothing else
        require(isinstance(number, str) and number.isdigit(), "messages without metadata.phone_number_id")
        for item in items:
            result = self._message(item, {"phone_number_id": str(number)})
            if isinstance(result, Inbound):
                messages.append(result)
            else:
                ignored.append(result)

    def _message(self, item: Any, reply_to: dict[str, str]) -> Inbound | str:
        """The message as an Inbound, or the reason it is ignored."""
        require(isinstance(item, dict), "message is not an object")
        wamid, sender, kind = item.get("id"), item.get("from"), item.get("type")
        require(filled(wamid) and filled(sender) and filled(kind), "message without id, from or type")

        def inbound(kind: Kind, text: str = "") -> Inbound:
            return Inbound(self.name, wamid, sender, kind, text, reply_to)

        if kind == "text":
            body = dig(item, "text", "body")
            return inbound("text", body) if filled(body) and body.strip() else "empty text message"
        if kind == "interactive":
            reply_type = dig(item, "interactive", "type")
            if reply_type in ("button_reply", "list_reply"):
                payload = dig(item, "interactive", reply_type, "id")
                return inbound("button", payload) if filled(payload) else f"{reply_type} without id"
            return f"interactive {_name(reply_type)}"
        if kind == "button":  # a quick-reply button of a template message
            payload, title = dig(item, "button", "payload"), dig(item, "button", "text")
            if filled(payload):
                return inbound("button", payload)
            return inbound("text", title) if filled(title) else "button without payload"
        if kind in MEDIA_TYPES:
            return inbound("media")
        return f"message type {_name(kind)}"  # reaction, unsupported, system, order, ...

    def render(self, message: Outbound) -> list[ApiCall]:
        number = message.reply_to.get("phone_number_id", "")
        if not number.isdigit():
            log_event("reply_unroutable", logging.ERROR, channel=self.name, reason="no phone_number_id to send from")
            return []
        path = f"{number}/messages"
        kind, choices = _choices(message.buttons)
        if not choices:
            return [ApiCall(path, json=_text(message.user_id, part)) for part in split_text(message.text, MAX_TEXT)]
        first, body = _body_and_rest(message.text, MAX_BUTTON_BODY if kind == "button" else MAX_LIST_BODY)
        calls = [ApiCall(path, json=_text(message.user_id, part)) for part in first]
        interactive = _buttons(body, choices) if kind == "button" else _list(body, choices)
        return [*calls, ApiCall(path, json={**_envelope(message.user_id), "type": "interactive",
                                            "interactive": interactive})]


def _choices(buttons: Sequence[Button]) -> tuple[str, list[Button]]:
    """Reply buttons for up to 3 options, else a list of up to 10 (the gateway maps numbers back to
    payloads only on numbered channels, so options beyond 10 are dropped rather than numbered).
    A payload too long for an id is dropped, and so is a repeated one (ids must be unique)."""
    seen: set[str] = set()
    unique = []
    for button in buttons:
        if button.payload and button.payload not in seen:
            seen.add(button.payload)
            unique.append(button)
    as_buttons = [b for b in unique if len(b.payload) <= MAX_BUTTON_ID]
    if len(as_buttons) <= MAX_REPLY_BUTTONS:
        return "button", as_buttons
    rows = [b for b in unique if len(b.payload) <= MAX_ROW_ID][:MAX_LIST_ROWS]
    return ("list" if len(rows) > MAX_REPLY_BUTTONS else "button"), rows


def _body_and_rest(text: str, limit: int) -> tuple[list[str], str]:
    """Text messages to send first, and the body of the interactive message (at most ``limit``).

    A text too long for the body goes out as text messages, and the interactive message carries
    its end, cut at the cleanest break (paragraph, line, sentence, word): the buttons then sit
    under the words they answer, and no line is sent twice."""
    text = text.strip()
    if len(text) <= limit:
        return [], text or ELLIPSIS
    for pattern in BREAKS:
        for match in pattern.finditer(text):  # the first break that fits leaves the longest tail
            head, tail = text[:match.start()].rstrip(), text[match.end():].strip()
            if len(tail) <= limit and head and tail:
                return split_text(head, MAX_TEXT), tail
    return split_text(text[:-limit], MAX_TEXT), text[-limit:]


def _buttons(body: str, choices: list[Button]) -> dict[str, Any]:
    titles = _titles([b.title for b in choices], MAX_BUTTON_TITLE)
    return {"type": "button", "body": {"text": body},
            "action": {"buttons": [{"type": "reply", "reply": {"id": b.payload, "title": title}}
                                   for b, title in zip(choices, titles, strict=True)]}}


def _list(body: str, choices: list[Button]) -> dict[str, Any]:
    rows = []
    for button, title in zip(choices, _titles([b.title for b in choices], MAX_ROW_TITLE), strict=True):
        row = {"id": button.payload, "title": title}
        if title != button.title.strip():  # the whole title still shows, under the shortened one
            row["description"] = shorten(button.title.strip(), MAX_ROW_DESCRIPTION)
        rows.append(row)
    return {"type": "list", "body": {"text": body},
            "action": {"button": LIST_LABEL, "sections": [{"title": LIST_LABEL, "rows": rows}]}}


def _titles(titles: list[str], limit: int) -> list[str]:
    """Titles shortened to ``limit``, numbered where shortening made two the same (WhatsApp refuses that)."""
    short = [shorten(t.strip(), limit) for t in titles]
    seen: set[str] = set()
    result = []
    for i, title in enumerate(short, start=1):
        if title in seen:
            suffix = f" {i}"
            title = shorten(title.rstrip(ELLIPSIS), limit - len(suffix)) + suffix
        seen.add(title)
        result.append(title)
    return result


def _envelope(user_id: str) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": user_id}


def _text(user_id: str, body: str) -> dict[str, Any]:
    return {**_envelope(user_id), "type": "text", "text": {"preview_url": False, "body": body}}


def _name(value: Any) -> str:
    return value[:MAX_NAME] if isinstance(value, str) and value else "unknown"


def from_env(env: Mapping[str, str]) -> WhatsApp | None:
    settings = WhatsAppSettings.from_env(env)
    return WhatsApp(settings) if settings else None
