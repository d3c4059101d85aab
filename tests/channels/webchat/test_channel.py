"""The web chat as a channel, without HTTP: rendering into the mailbox, and when it exists."""

from __future__ import annotations

import pytest

from channels.errors import ChannelError
from channels.models import ApiCall, Button, Outbound
from channels.registry import build_channels
from channels.settings import Settings
from channels.webchat.channel import WebChat
from tests.channels.webchat.test_routes import SESSION


def test_render_puts_text_and_buttons_in_the_mailbox() -> None:
    calls = WebChat().render(Outbound("webchat", SESSION, "Article 21 protects your passport.",
                                      (Button("Yes", '/feedback{"helpful":"yes"}'), Button("No", "/deny"))))
    assert calls == [ApiCall("mailbox", json={
        "text": "Article 21 protects your passport.",
        "buttons": [{"title": "Yes", "payload": '/feedback{"helpful":"yes"}'}, {"title": "No", "payload": "/deny"}]})]
    long = "Convention, art. 21. " * 500
    (call,) = WebChat().render(Outbound("webchat", SESSION, long))
    assert call.json == {"text": long, "buttons": []}, "a browser needs no split"


async def test_send_is_never_used() -> None:
    with pytest.raises(ChannelError, match="mailbox"):
        await WebChat().send(None, ApiCall("mailbox", json={"text": "x"}))  # type: ignore[arg-type]


def test_the_web_chat_follows_webchat_enabled() -> None:
    on = Settings.from_env({"GATEWAY_SECRET": "s" * 20, "WEBCHAT_ENABLED": "true"})
    off = Settings.from_env({"GATEWAY_SECRET": "s" * 20, "WEBCHAT_ENABLED": "false"})
    assert isinstance(build_channels(on, {})["webchat"], WebChat) and WebChat.mailbox
    assert build_channels(off, {}) == {}
