"""Webhooks as each platform sends them: the body, the path, and a valid signature or secret.

The abuse run's gateway is configured with the fake credentials below (never real ones), so the
run can sign what a platform would sign, and then break the signature in every way a forger
might. The schemes are written here apart from the channel modules (as the platforms document
them), so that a bug in a channel's check is not copied into the probe that tests it:

    WhatsApp, Messenger  X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body, app secret>
    Telegram             X-Telegram-Bot-Api-Secret-Token: <the secret given to setWebhook>
    Twilio               X-Twilio-Signature: base64 HMAC-SHA1 of the public URL, then every POST
                         parameter's name and value in sorted order, under the auth token
    Viber                X-Viber-Content-Signature: <hex HMAC-SHA256 of the raw body, auth token>
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

PUBLIC_URL = "https://hotline.example.org"
PLATFORMS = ("whatsapp", "telegram", "viber", "twilio", "messenger")
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"

# Fake credentials: the run's gateway gets exactly these, nothing else.
# ruff: noqa: S105
GATEWAY_SECRET = "abuse-run-gateway-secret-0123456789"
METRICS_TOKEN = "abuse-run-metrics-token-0123456789"
WHATSAPP_APP_SECRET = "wa-app-secret-ABUSE-0123456789"
WHATSAPP_VERIFY_TOKEN = "wa-verify-ABUSE-1"
MESSENGER_APP_SECRET = "fb-app-secret-ABUSE-0123456789"
MESSENGER_VERIFY_TOKEN = "fb-verify-ABUSE-1"
TELEGRAM_SECRET = "tg_secret_ABUSE_0123456789"
TELEGRAM_BOT_TOKEN = "123456789:ABUSEfakeBotToken_0123456789abcdef"
TWILIO_ACCOUNT = "AC" + "ab" * 16
TWILIO_TOKEN = "0123456789abcdef0123456789abcdef"
VIBER_TOKEN = "4a1b2c3d4e5f6a7b-8c9d0e1f2a3b4c5d-ABUSE"
WHATSAPP_NUMBER_ID = "109876543210987"  # the business number that receives (and answers)
TWILIO_NUMBER = "+15005550006"


def gateway_env(api_base: str) -> dict[str, str]:
    """Every platform enabled with the fake credentials, each API pointed at ``api_base``/<platform>."""
    return {
        "GATEWAY_SECRET": GATEWAY_SECRET,
        "GATEWAY_PUBLIC_URL": PUBLIC_URL,
        "WHATSAPP_APP_SECRET": WHATSAPP_APP_SECRET, "WHATSAPP_VERIFY_TOKEN": WHATSAPP_VERIFY_TOKEN,
        "WHATSAPP_ACCESS_TOKEN": "wa-access-token-ABUSE", "WHATSAPP_API_BASE": f"{api_base}/whatsapp",
        "MESSENGER_APP_SECRET": MESSENGER_APP_SECRET, "MESSENGER_VERIFY_TOKEN": MESSENGER_VERIFY_TOKEN,
        "MESSENGER_PAGE_TOKEN": "fb-page-token-ABUSE", "MESSENGER_API_BASE": f"{api_base}/messenger",
        "TELEGRAM_BOT_TOKEN": TELEGRAM_BOT_TOKEN, "TELEGRAM_SECRET_TOKEN": TELEGRAM_SECRET,
        "TELEGRAM_API_BASE": f"{api_base}/telegram",
        "TWILIO_ACCOUNT_SID": TWILIO_ACCOUNT, "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "TWILIO_API_BASE": f"{api_base}/twilio",
        "VIBER_AUTH_TOKEN": VIBER_TOKEN, "VIBER_API_BASE": f"{api_base}/viber",
        "WEBCHAT_ENABLED": "true",
    }


# signatures


def meta_signature(body: bytes, secret: str = WHATSAPP_APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def viber_signature(body: bytes, token: str = VIBER_TOKEN) -> str:
    return hmac.new(token.encode(), body, hashlib.sha256).hexdigest()


def twilio_signature(url: str, params: list[tuple[str, str]], token: str = TWILIO_TOKEN) -> str:
    data = url + "".join(name + value for name, value in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def twilio_url(public: str = PUBLIC_URL) -> str:
    return f"{public}/webhooks/twilio"


# bodies


def whatsapp_body(message_id: str, sender: str, text: str, number_id: str = WHATSAPP_NUMBER_ID) -> dict[str, Any]:
    message = {"from": sender, "id": message_id, "timestamp": "1700000000", "type": "text", "text": {"body": text}}
    return {"object": "whatsapp_business_account", "entry": [{"id": "100000000000001", "changes": [
        {"field": "messages", "value": {"messaging_product": "whatsapp",
                                        "metadata": {"display_phone_number": "15550001111",
                                                     "phone_number_id": number_id},
                                        "contacts": [{"wa_id": sender, "profile": {"name": "A"}}],
                                        "messages": [message]}}]}]}


def messenger_body(mid: str, sender: str, text: str) -> dict[str, Any]:
    return {"object": "page", "entry": [{"id": "200000000000001", "time": 1700000000000, "messaging": [
        {"sender": {"id": sender}, "recipient": {"id": "200000000000001"}, "timestamp": 1700000000000,
         "message": {"mid": mid, "text": text}}]}]}


def telegram_body(update_id: int, chat_id: int, text: str) -> dict[str, Any]:
    return {"update_id": update_id, "message": {
        "message_id": update_id % 1_000_000, "date": 1700000000, "text": text,
        "from": {"id": chat_id, "is_bot": False, "first_name": "A"},
        "chat": {"id": chat_id, "type": "private", "first_name": "A"}}}


def viber_body(token: int, sender: str, text: str) -> dict[str, Any]:
    return {"event": "message", "timestamp": 1700000000000, "message_token": token,
            "sender": {"id": sender, "name": "A", "api_version": 10},
            "message": {"type": "text", "text": text}}


def twilio_params(sid: str, sender: str, text: str, account: str = TWILIO_ACCOUNT) -> list[tuple[str, str]]:
    return [("ToCountry", "US"), ("SmsMessageSid", sid), ("NumMedia", "0"), ("SmsSid", sid),
            ("SmsStatus", "received"), ("Body", text), ("To", TWILIO_NUMBER), ("NumSegments", "1"),
            ("MessageSid", sid), ("AccountSid", account), ("From", sender), ("ApiVersion", "2010-04-01")]


@dataclass(frozen=True)
class Webhook:
    """One request as a platform would make it (resent unchanged when a platform retries)."""

    platform: str
    path: str
    body: bytes
    headers: dict[str, str]


def encode(data: Any) -> bytes:
    return json.dumps(data).encode()


def signed(platform: str, body: bytes, url: str | None = None) -> dict[str, str]:
    """Content-Type and a valid signature (or secret) for ``body`` on ``platform``.

    Twilio's signature covers the URL it called: the public one unless ``url`` says otherwise."""
    if platform == "whatsapp":
        return {"Content-Type": JSON, "X-Hub-Signature-256": meta_signature(body)}
    if platform == "messenger":
        return {"Content-Type": JSON, "X-Hub-Signature-256": meta_signature(body, MESSENGER_APP_SECRET)}
    if platform == "telegram":
        return {"Content-Type": JSON, "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
    if platform == "viber":
        return {"Content-Type": JSON, "X-Viber-Content-Signature": viber_signature(body)}
    if platform == "twilio":
        from urllib.parse import parse_qsl

        params = parse_qsl(body.decode("utf-8", "surrogateescape"), keep_blank_values=True)
        return {"Content-Type": FORM, "X-Twilio-Signature": twilio_signature(url or twilio_url(), params)}
    raise ValueError(f"no such platform: {platform}")


def user_id(platform: str, person: int) -> str:
    """A distinctive address for person number ``person`` on ``platform`` (searched for at rest)."""
    return {"whatsapp": f"1555{person:07d}", "messenger": f"24{person:014d}", "telegram": f"7{person:08d}",
            "twilio": f"+1556{person:07d}", "viber": f"vbABUSE{person:08d}=="}[platform]


def message_body(platform: str, number: int, person: int, text: str) -> bytes:
    """The body of text message number ``number`` (its platform ID derives from it) from ``person``."""
    sender = user_id(platform, person)
    if platform == "whatsapp":
        return encode(whatsapp_body(f"wamid.ABUSE{number:010d}", sender, text))
    if platform == "messenger":
        return encode(messenger_body(f"m_ABUSE{number:010d}", sender, text))
    if platform == "telegram":
        return encode(telegram_body(100_000_000 + number, int(sender), text))
    if platform == "viber":
        return encode(viber_body(5_000_000_000_000_000 + number, sender, text))
    if platform == "twilio":
        return urlencode(twilio_params(f"SM{number:032x}", sender, text)).encode()
    raise ValueError(f"no such platform: {platform}")


def webhook(platform: str, number: int, person: int, text: str) -> Webhook:
    """A validly signed text message: the same ``number`` gives the same platform message ID."""
    body = message_body(platform, number, person, text)
    return Webhook(platform, f"/webhooks/{platform}", body, signed(platform, body))
