"""Telegram Bot API.

Webhook: one Update per request, authenticated by the secret token given to ``setWebhook``
(header ``X-Telegram-Bot-Api-Secret-Token``). Replies: ``sendMessage`` with an inline keyboard.
Docs: https://core.telegram.org/bots/api#setwebhook, #update, #sendmessage,
#inlinekeyboardmarkup.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from channels.base import Channel, WebhookRequest, classify, load_json, post, require
from channels.errors import Rejected, unauthorized
from channels.keys import Secret, equal
from channels.models import ApiCall, Inbound, Outbound, Parsed, SendResult
from channels.settings import read_group
from channels.text import split_text

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
MAX_TEXT = 4096  # sendMessage text, after entity parsing
MAX_CALLBACK_DATA = 64  # bytes, InlineKeyboardButton.callback_data
MAX_BUTTONS = 100  # inline keyboard
MEDIA_FIELDS = ("photo", "voice", "audio", "video", "video_note", "document", "sticker", "animation",
                "location", "contact", "venue", "poll", "dice")
MAX_NAME = 40  # how much of an unknown update type or chat type goes into a log line
API_BASE = "https://api.telegram.org"


@dataclass(frozen=True)
class TelegramSettings:
    bot_token: Secret
    secret_token: Secret
    api_base: str = API_BASE

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> TelegramSettings | None:
        """TELEGRAM_BOT_TOKEN, TELEGRAM_SECRET_TOKEN (and _API_BASE); None when neither is set."""
        return read_group(env, cls, "TELEGRAM", secrets=("BOT_TOKEN", "SECRET_TOKEN"), plain=("API_BASE",))


class Telegram(Channel):
    name = "telegram"

    def __init__(self, settings: TelegramSettings) -> None:
        self.settings = settings

    def verify(self, request: WebhookRequest) -> None:
        given = request.headers.get(SECRET_HEADER)
        if not given:
            raise unauthorized(f"missing {SECRET_HEADER}")
        if not equal(given, self.settings.secret_token.reveal()):
            raise unauthorized(f"wrong {SECRET_HEADER}")

    def parse(self, request: WebhookRequest) -> Parsed:
        update = load_json(request.body)
        require(isinstance(update, dict) and _integer(update.get("update_id")),
                "not a Telegram update: no integer update_id")
        update_id = str(update["update_id"])
        if "callback_query" in update:
            return _button(update_id, update["callback_query"])
        message = update.get("message")
        if message is None:
            kind = next((key for key in update if key != "update_id"), "empty")
            return Parsed(ignored=[f"update type {_name(kind)}"])
        require(isinstance(message, dict), "message is not an object")
        chat, sender = message.get("chat"), message.get("from") or {}
        require(isinstance(chat, dict) and _integer(chat.get("id")), "message without an integer chat.id")
        require(isinstance(sender, dict), "message.from is not an object")
        if sender.get("is_bot"):
            return Parsed(ignored=["message from a bot"])
        if chat.get("type", "private") != "private":
            return Parsed(ignored=[f"{_name(chat.get('type'))} chat (only private chats are served)"])
        user = str(chat["id"])
        text = message.get("text")
        if isinstance(text, str):
            if not text.strip():
                return Parsed(ignored=["empty text message"])
            return Parsed([Inbound(self.name, update_id, user, "text", text)])
        if any(field in message for field in MEDIA_FIELDS):
            return Parsed([Inbound(self.name, update_id, user, "media")])
        return Parsed(ignored=["service message without text"])

    def render(self, message: Outbound) -> list[ApiCall]:
        parts = split_text(message.text, MAX_TEXT) or [""]
        calls = [ApiCall("sendMessage", json={"chat_id": _chat_id(message.user_id), "text": part})
                 for part in parts[:-1]]
        last: dict[str, Any] = {"chat_id": _chat_id(message.user_id), "text": parts[-1]}
        buttons = [b for b in message.buttons if len(b.payload.encode()) <= MAX_CALLBACK_DATA][:MAX_BUTTONS]
        if buttons:
            last["reply_markup"] = {"inline_keyboard": [[{"text": b.title, "callback_data": b.payload}]
                                                        for b in buttons]}
            if not last["text"]:
                last["text"] = "…"
        return [*calls, ApiCall("sendMessage", json=last)]

    async def send(self, session: aiohttp.ClientSession, call: ApiCall) -> SendResult:
        url = f"{self.settings.api_base}/bot{self.settings.bot_token.reveal()}/{call.path}"
        status, headers, body = await post(session, url, call)
        result = classify(status, headers)
        if status == 429 and not headers.get("Retry-After"):
            # Telegram says how long to wait in the body: {"parameters": {"retry_after": 5}}
            data = _json_or_empty(body)
            wait = (data.get("parameters") or {}).get("retry_after")
            if isinstance(wait, int | float):
                return SendResult(ok=False, retry_after=float(wait), reason="HTTP 429")
        return result


def _button(update_id: str, query: Any) -> Parsed:
    require(isinstance(query, dict), "callback_query is not an object")
    message = query.get("message") or {}
    sender = query.get("from") or {}
    require(isinstance(message, dict) and isinstance(sender, dict), "callback_query.message or .from is not an object")
    chat = message.get("chat") or {}
    require(isinstance(chat, dict), "callback_query.message.chat is not an object")
    user = chat.get("id", sender.get("id"))
    require(_integer(user), "callback_query without an integer chat or sender id")
    data = query.get("data")
    if not isinstance(data, str) or not data:
        return Parsed(ignored=["callback_query without data"])
    return Parsed([Inbound(Telegram.name, update_id, str(user), "button", data)])


def _integer(value: Any) -> bool:
    """Telegram's IDs (update_id, chat.id, from.id) are integers."""
    return isinstance(value, int) and not isinstance(value, bool)


def _name(value: Any) -> str:
    """An update type or chat type for a log line: the webhook chooses it, so it is cut short."""
    return value[:MAX_NAME] if isinstance(value, str) and value else "unknown"


def _chat_id(user_id: str) -> int | str:
    return int(user_id) if user_id.lstrip("-").isdigit() else user_id


def _json_or_empty(body: bytes) -> dict[str, Any]:
    try:
        data = load_json(body)
    except Rejected:  # an unreadable body just means "no hint"
        return {}
    return data if isinstance(data, dict) else {}


def from_env(env: Mapping[str, str]) -> Telegram | None:
    settings = TelegramSettings.from_env(env)
    return Telegram(settings) if settings else None
