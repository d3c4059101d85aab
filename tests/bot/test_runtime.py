"""The local runtime's wiring of the gateway (no servers started)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
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
    assert settings.secure_cookies is False, "a local run serves the console over plain http"
    secret_file = tmp_path / "gateway.secret"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    again = runtime.gateway_environment(base, runtime.Ports())
    assert again["GATEWAY_SECRET"] == env["GATEWAY_SECRET"], "the made secret is kept, not remade"


def test_ports_are_read_when_asked_and_checked() -> None:
    assert runtime.Ports.from_env({}) == runtime.Ports()
    assert runtime.Ports.from_env({"RASA_PORT": "6005"}).rasa == 6005
    with pytest.raises(runtime.RuntimeProblem, match="RASA_PORT"):
        runtime.Ports.from_env({"RASA_PORT": "abc"})


def test_the_retrain_fingerprint_covers_every_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = runtime.bot_fingerprint()
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    for path in runtime.PLUGINS_DIR.glob("*.py"):
        (plugins / path.name).write_bytes(path.read_bytes())
    monkeypatch.setattr(runtime, "PLUGINS_DIR", plugins)
    assert runtime.bot_fingerprint() == before
    (plugins / "new_component.py").write_text("X = 1\n")  # a plug-in added later counts too
    assert runtime.bot_fingerprint() != before


def test_a_tracker_store_rasa_could_not_import_is_refused(tmp_path: Path) -> None:
    good = "tracker_store:\n  type: bot.plugins.tracker_store.CachedSQLTrackerStore\n"
    runtime._check_tracker_store(good)
    for wrong, reason in (("bot.plugins.tracker_store.NoSuchStore", "defines no class"),
                          ("bot.plugins.no_such_module.Store", "no module")):
        with pytest.raises(runtime.RuntimeProblem, match=reason):
            runtime._check_tracker_store(f"tracker_store:\n  type: {wrong}\n")
    runtime._check_tracker_store("tracker_store:\n  type: SQL\n")  # Rasa's own: nothing to check


def test_checking_the_tracker_store_does_not_load_rasa() -> None:
    import subprocess
    import sys

    code = ("import sys; from bot import runtime; runtime._check_tracker_store("
            "(runtime.BOT_DIR / 'endpoints.yml').read_text()); print('rasa' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_an_unhealthy_gateway_counts_as_started_and_is_said(capsys: pytest.CaptureFixture[str]) -> None:
    import http.server
    import subprocess
    import threading

    class Unhealthy(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(503)
            self.end_headers()
            self.wfile.write(b'{"status": "unhealthy", "problems": ["outbox stuck"]}')

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Unhealthy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/healthz"
    alive = subprocess.Popen(["sleep", "30"])
    try:
        runtime._wait_http(url, 5, alive, health=True)
        assert "outbox stuck" in capsys.readouterr().err
        with pytest.raises(runtime.RuntimeProblem, match="did not answer"):
            runtime._wait_http(url, 1, alive)
    finally:
        alive.kill()
        server.shutdown()


def test_a_long_set_up_step_is_summed_up_from_its_progress_bar() -> None:
    log = ("loading\nembedding passages:   0%|          | 0/3415 [00:00<?, ?passage/s]"
           "\rembedding passages:  45%|████▌     | 1536/3415 [01:19<00:50, 37.39passage/s]")
    assert runtime.last_progress(log) == "embedding passages 45%"
    assert runtime.last_progress("training the urgency model\n") is None


def test_run_logged_says_how_a_failed_step_ended(tmp_path: Path) -> None:
    import sys

    log = tmp_path / "step.log"
    with pytest.raises(runtime.RuntimeProblem, match="exit 3") as failed:
        runtime.run_logged([sys.executable, "-c", "print('index folder is read-only'); raise SystemExit(3)"], log)
    assert "index folder is read-only" in str(failed.value)


def test_the_gateway_runs_from_its_own_environment(tmp_path: Path) -> None:
    """GATEWAY_PYTHON names it; otherwise .venv-gateway's; missing, the error says how to make it."""
    python = tmp_path / "python"
    python.write_text("")
    assert runtime.gateway_python({"GATEWAY_PYTHON": str(python)}) == str(python)
    with pytest.raises(runtime.RuntimeProblem, match=r"scripts/setup gateway \.venv-gateway"):
        runtime.gateway_python({"GATEWAY_PYTHON": str(tmp_path / "missing")})
    assert runtime.gateway_python({}) == str(runtime.GATEWAY_VENV / "bin" / "python")  # make test made it


def test_rights_gateway_starts_the_gateway_in_its_environment(tmp_path: Path) -> None:
    """`rights gateway` hands over to .venv-gateway's Python, which checks its aiohttp and its settings."""
    env = {**os.environ, "GATEWAY_SECRET": ""}
    done = subprocess.run([sys.executable, "-m", "bot.cli", "gateway"], env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 2
    assert "set GATEWAY_SECRET" in done.stderr  # said by the gateway's process, after its aiohttp passed
