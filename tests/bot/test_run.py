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


def _read_until(proc: subprocess.Popen[str], marker: str, timeout: float) -> list[str]:
    assert proc.stderr is not None
    lines: list[str] = []
    selector = selectors.DefaultSelector()
    selector.register(proc.stderr, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not selector.select(timeout=1):
            continue
        line = proc.stderr.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if marker in line:
            return lines
    raise AssertionError(f"no {marker!r} within {timeout:.0f}s; got:\n" + "\n".join(lines))


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_run_is_quiet_and_stopping_it_stops_every_server(
    stop: signal.Signals, model: Path, retriever: Retriever, urgency: Any, triage_dir: Path, tmp_path: Path,
) -> None:
    ports = {"RASA_PORT": free_port(), "ACTION_PORT": free_port(), "GATEWAY_PORT": free_port()}
    env = {**os.environ, "RIGHTS_INDEX_DIR": str(retriever.folder), "RIGHTS_TRIAGE_DIR": str(triage_dir),
           "RIGHTS_VAR_DIR": str(tmp_path), **{k: str(v) for k, v in ports.items()}}
    env.pop("GATEWAY_SECRET", None)
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "run", "--no-chat"], cwd=REPO, env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
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
    finally:
        if proc.poll() is None:
            proc.kill()
