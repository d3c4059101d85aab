"""Which channels the environment turns on."""

from __future__ import annotations

import pytest

from channels.errors import ConfigError
from channels.platforms.telegram import Telegram
from channels.platforms.twilio import Twilio
from channels.registry import PLATFORMS, build_channels
from channels.settings import Settings
from tests.channels.conftest import SECRET
from tests.channels.platforms.test_telegram import env as telegram_env

SETTINGS = Settings.from_env({"GATEWAY_SECRET": SECRET, "WEBCHAT_ENABLED": "false"})


def test_a_platform_is_on_when_its_variables_are_set() -> None:
    env = {**telegram_env("https://telegram.example"), "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
           "TWILIO_AUTH_TOKEN": "t" * 32}
    channels = build_channels(SETTINGS, env)
    assert sorted(channels) == ["telegram", "twilio"]
    assert isinstance(channels["telegram"], Telegram) and isinstance(channels["twilio"], Twilio)
    assert build_channels(SETTINGS, {}) == {}


def test_a_half_configured_platform_stops_the_gateway_saying_what_to_set() -> None:
    with pytest.raises(ConfigError, match="set TELEGRAM_SECRET_TOKEN"):
        build_channels(SETTINGS, {"TELEGRAM_BOT_TOKEN": "x"})


def test_each_registry_name_is_its_channels_name() -> None:
    full = {"WHATSAPP_APP_SECRET": "a", "WHATSAPP_VERIFY_TOKEN": "b", "WHATSAPP_ACCESS_TOKEN": "c",
            "MESSENGER_APP_SECRET": "a", "MESSENGER_VERIFY_TOKEN": "b", "MESSENGER_PAGE_TOKEN": "c",
            "TELEGRAM_BOT_TOKEN": "a", "TELEGRAM_SECRET_TOKEN": "b", "TWILIO_ACCOUNT_SID": "a",
            "TWILIO_AUTH_TOKEN": "b", "VIBER_AUTH_TOKEN": "a"}
    channels = build_channels(SETTINGS, full)
    assert sorted(channels) == sorted(PLATFORMS)
    assert all(channel.name == name for name, channel in channels.items())
