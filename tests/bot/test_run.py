"""``rights run`` as a person (or a service manager) uses it: a few lines on the terminal, the
servers' own output in var/logs/, and every server gone when it is stopped."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from knowledge.search.retriever import Retriever
from tests.conftest import REPO, free_port

pytestmark = pytest.mark.slow


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = task / "children"
        if children.exists():
            found += [int(c) for c in children.read_text().split()]
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "State:\tZ" not in status.read_text()


def _read_until(proc: subprocess.Popen[bytes], marker: str, timeout: float) -> list[str]:
    """stderr lines up to the one holding ``marker``; read from the raw pipe, because a buffered
    reader can take several lines at once and leave select() nothing more to report."""
    assert proc.stderr is not None
    fd = proc.stderr.fileno()
    selector = selectors.DefaultSelector()
    selector.register(fd, selectors.EVENT_READ)
    data = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = data.decode("utf-8", "replace").splitlines()
        if any(marker in line for line in lines):
            return lines
        if not selector.select(timeout=1):
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        data += chunk
    raise AssertionError(f"no {marker!r} within {timeout:.0f}s; got:\n" + data.decode("utf-8", "replace"))


def _interruptible() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_run_is_quiet_and_stopping_it_stops_every_server(
    stop: signal.Signals, model: Path, retriever: Retriever, urgency: Any, triage_dir: Path, tmp_path: Path,
) -> None:
    ports = {"RASA_PORT": free_port(), "ACTION_PORT": free_port(), "GATEWAY_PORT": free_port()}
    env = {**os.environ, "RIGHTS_INDEX_DIR": str(retriever.folder), "RIGHTS_TRIAGE_DIR": str(triage_dir),
           "RIGHTS_VAR_DIR": str(tmp_path), **{k: str(v) for k, v in ports.items()}}
    env.pop("GATEWAY_SECRET", None)
    # as from a terminal: a test run started in the background inherits SIGINT ignored, and then
    # Python would never see the Ctrl-C this test sends
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "run", "--no-chat"], cwd=REPO, env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            preexec_fn=_interruptible)
    servers: list[int] = []
    try:
        lines = _read_until(proc, "Ctrl-C stops every server", timeout=300)
        servers = _children(proc.pid)
        assert len(servers) == 3, servers  # action server, Rasa server, gateway
        assert all(_alive(pid) for pid in servers)
        # what a newcomer reads: a handful of lines, where to chat, no library warnings
        assert len(lines) <= 12, "\n".join(lines)
        assert any(f"http://127.0.0.1:{ports['GATEWAY_PORT']}/chat" in line for line in lines)
        assert not [line for line in lines if "Warning" in line or "WARNING" in line]
        for name in ("actions", "rasa", "gateway", "prepare"):
            assert (tmp_path / "logs" / f"{name}.log").exists(), name
        proc.send_signal(stop)
        proc.wait(timeout=60)
        deadline = time.monotonic() + 30
        while any(_alive(pid) for pid in servers) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not [pid for pid in servers if _alive(pid)], "servers left running after the stop"
    finally:  # whatever failed above, leave no server behind for the rest of the session
        servers += [pid for pid in _children(proc.pid) if pid not in servers] if proc.poll() is None else []
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
        for pid in servers:
            if _alive(pid):
                os.killpg(pid, signal.SIGKILL)
