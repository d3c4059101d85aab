"""Which channels exist: adding a platform is one module and one line here."""

from __future__ import annotations

from collections.abc import Callable

from channels import messenger, telegram, twilio, viber, webchat, whatsapp
from channels.base import Channel
from channels.settings import Settings

# name -> builder returning the channel, or None when its settings are absent
REGISTRY: dict[str, Callable[[Settings], Channel | None]] = {
    "whatsapp": whatsapp.from_settings,
    "messenger": messenger.from_settings,
    "telegram": telegram.from_settings,
    "twilio": twilio.from_settings,
    "viber": viber.from_settings,
    "webchat": webchat.from_settings,
}


def build_channels(settings: Settings) -> dict[str, Channel]:
    channels = {}
    for name, build in REGISTRY.items():
        channel = build(settings)
        if channel is not None:
            channels[name] = channel
    return channels
