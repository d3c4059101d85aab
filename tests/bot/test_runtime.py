"""The local runtime's wiring of the gateway (no servers started)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from bot import runtime
from channels.settings import Settings


def test_gateway_environment_reaches_every_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GATEWAY_SECRET", raising=False)
    base = {"RASA_TRACKER_DB": str(tmp_path / "tracker.sqlite3")}
    env = runtime.gateway_environment(base, runtime.Ports(rasa=5105, actions=5155, gateway=8180))
    settings = Settings.from_env(env)
    assert settings.tracker_db_url == f"sqlite:///{tmp_path / 'tracker.sqlite3'}"
    assert settings.cases_db_url == f"sqlite:///{tmp_path / 'cases.sqlite3'}"
    assert settings.db_path == tmp_path / "gateway.sqlite3"
    assert (settings.rasa_url, settings.host, settings.port) == ("http://127.0.0.1:5105", "127.0.0.1", 8180)
    secret_file = tmp_path / "gateway.secret"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    again = runtime.gateway_environment(base, runtime.Ports())
    assert again["GATEWAY_SECRET"] == env["GATEWAY_SECRET"], "the made secret is kept, not remade"
