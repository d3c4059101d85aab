"""Which channels exist: adding a platform is one module in channels/platforms/ and one line here."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

from channels.base import Channel
from channels.platforms import messenger, telegram, twilio, viber, whatsapp
from channels.settings import Settings
from channels.webchat.channel import WebChat

# name -> builder reading the platform's own variables: the channel, or None when none is set
# (a half-configured platform raises ConfigError, naming what to set)
PLATFORMS: dict[str, Callable[[Mapping[str, str]], Channel | None]] = {
    "whatsapp": whatsapp.from_env,
    "messenger": messenger.from_env,
    "telegram": telegram.from_env,
    "twilio": twilio.from_env,
    "viber": viber.from_env,
}


def build_channels(settings: Settings, env: Mapping[str, str] | None = None) -> dict[str, Channel]:
    """Every platform the environment configures, and the web chat when WEBCHAT_ENABLED."""
    env = os.environ if env is None else env
    channels: dict[str, Channel] = {}
    for name, build in PLATFORMS.items():
        channel = build(env)
        if channel is not None:
            channels[name] = channel
    if settings.webchat:
        channels[WebChat.name] = WebChat(settings.public_url)
    return channels
