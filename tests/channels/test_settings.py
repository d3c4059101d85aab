"""The gateway-wide settings, and ``read_group``, with which each platform reads its own variables."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from channels.errors import ConfigError
from channels.keys import Secret
from channels.settings import DEFAULT_CASES_DB_URL, DEFAULT_DB, VAR_DIR, Settings, cases_db_url, public_url, read_group
from tests.channels.conftest import SECRET


def test_settings_errors_say_what_to_set() -> None:
    with pytest.raises(ConfigError, match="set GATEWAY_SECRET"):
        Settings.from_env({})
    with pytest.raises(ConfigError, match="at least 16"):
        Settings.from_env({"GATEWAY_SECRET": "short"})
    with pytest.raises(ConfigError, match="GATEWAY_PORT must be a whole number"):
        Settings.from_env({"GATEWAY_SECRET": SECRET, "GATEWAY_PORT": "eighty"})
    settings = Settings.from_env({"GATEWAY_SECRET": SECRET})
    assert "test-gateway-secret" not in repr(settings)


def test_defaults_keep_the_stores_in_the_checkouts_var_folder() -> None:
    settings = Settings.from_env({"GATEWAY_SECRET": SECRET})
    assert VAR_DIR == Path(__file__).resolve().parents[2] / "var"
    assert (settings.db_path, settings.cases_db_url) == (DEFAULT_DB, DEFAULT_CASES_DB_URL)
    assert DEFAULT_CASES_DB_URL == f"sqlite:///{VAR_DIR / 'cases.sqlite3'}"
    assert (settings.host, settings.port, settings.webchat, settings.tracker_db_url) == ("127.0.0.1", 8080, True, "")
    assert (settings.stuck_after_seconds, settings.loop_down_after_seconds) == (600.0, 60.0)


def test_values_from_the_environment() -> None:
    settings = Settings.from_env({
        "GATEWAY_SECRET": SECRET, "GATEWAY_PUBLIC_URL": "https://hotline.example/", "RASA_URL": "http://rasa:5005/",
        "GATEWAY_DB": "/data/g.sqlite3", "CASES_DB_URL": "postgresql://db/cases", "WEBCHAT_ENABLED": "no",
        "GATEWAY_STUCK_AFTER_SECONDS": "120", "GATEWAY_LOOP_DOWN_AFTER_SECONDS": "5", "RETENTION_DAYS": "7.5"})
    assert (settings.public_url, settings.rasa_url) == ("https://hotline.example", "http://rasa:5005")
    assert (settings.db_path, settings.cases_db_url, settings.webchat) == (Path("/data/g.sqlite3"),
                                                                          "postgresql://db/cases", False)
    assert (settings.stuck_after_seconds, settings.loop_down_after_seconds, settings.retention_days) == (120, 5, 7.5)
    assert public_url({}) == "" and cases_db_url({}) == DEFAULT_CASES_DB_URL


@pytest.mark.parametrize(("key", "value", "says"), [
    ("WEBCHAT_ENABLED", "maybe", "WEBCHAT_ENABLED must be true or false"),
    ("RETENTION_DAYS", "a month", "RETENTION_DAYS must be a number"),
    ("GATEWAY_STUCK_AFTER_SECONDS", "10 min", "GATEWAY_STUCK_AFTER_SECONDS must be a number"),
])
def test_a_wrong_value_is_named(key: str, value: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        Settings.from_env({"GATEWAY_SECRET": SECRET, key: value})


@dataclass(frozen=True)
class Example:
    token: Secret
    account: str
    api_base: str = "https://api.example"


def test_read_group_reads_a_platforms_variables() -> None:
    def read(env: dict[str, str]) -> Example | None:
        return read_group(env, Example, "EXAMPLE", secrets=("TOKEN",), plain=("ACCOUNT", "API_BASE"),
                          required_plain=("ACCOUNT",))

    assert read({"OTHER_TOKEN": "x"}) is None
    with pytest.raises(ConfigError, match=r"example is half configured: set EXAMPLE_ACCOUNT \(or unset EXAMPLE_TOKEN"):
        read({"EXAMPLE_TOKEN": "t"})
    found = read({"EXAMPLE_TOKEN": "t", "EXAMPLE_ACCOUNT": "a", "EXAMPLE_API_BASE": "http://127.0.0.1:9/"})
    assert found == Example(Secret("t"), "a", "http://127.0.0.1:9")
