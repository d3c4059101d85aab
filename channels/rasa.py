"""The private connection to the Rasa server's REST channel (loopback or an internal network)."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from channels.errors import ChannelError
from channels.models import Button, Outbound


class RasaUnavailable(ChannelError):
    """Rasa did not answer; the message stays in the inbox and is tried again."""


async def converse(session: aiohttp.ClientSession, rasa_url: str, conversation: str, text: str,
                   timeout: float = 60.0) -> list[dict[str, Any]]:
    """Send one message as ``conversation`` and return Rasa's replies."""
    try:
        async with session.post(f"{rasa_url}/webhooks/rest/webhook",
                                json={"sender": conversation, "message": text},
                                timeout=aiohttp.ClientTimeout(total=timeout)) as response:
            if response.status != 200:
                raise RasaUnavailable(f"Rasa answered HTTP {response.status}")
            replies = await response.json(content_type=None)
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
        raise RasaUnavailable(f"Rasa unreachable at {rasa_url}: {exc.__class__.__name__}") from exc
    if not isinstance(replies, list):
        raise RasaUnavailable("Rasa answered something other than a list of messages")
    return [reply for reply in replies if isinstance(reply, dict)]


def to_outbound(replies: list[dict[str, Any]], channel: str, user_id: str,
                reply_to: dict[str, str]) -> list[Outbound]:
    """Rasa's messages as platform-neutral replies (text and buttons; other parts, such as the
    actions' directives to the gateway (channels.directives), are dropped)."""
    messages = []
    for reply in replies:
        text = str(reply.get("text") or "")
        buttons = tuple(Button(title=str(b.get("title", "")), payload=str(b.get("payload", "")))
                        for b in reply.get("buttons") or [] if isinstance(b, dict) and b.get("title"))
        if text or buttons:
            messages.append(Outbound(channel=channel, user_id=user_id, text=text, buttons=buttons,
                                     reply_to=reply_to))
    return messages
