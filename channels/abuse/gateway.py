"""A real gateway for the abuse run: ``python -m channels`` in a subprocess on 127.0.0.1.

A ``Site`` is one deployment: its environment (every channel enabled with the fake credentials
of channels.abuse.signing, the fakes' URLs, GATEWAY_PUBLIC_URL, its own temporary var dir for the
databases and logs) and its port. It starts gateway processes (several at once when a run makes
two overlap), and ends every one it started, by its PID, when closed.

The Python that runs the gateway is a choice: the gateway's own environment (.venv-gateway, a
current aiohttp) when the checkout has one, else this interpreter; ``--gateway-python`` says
otherwise.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import aiohttp

from channels.abuse.fakes import HOST
from channels.abuse.signing import gateway_env

REPO = Path(__file__).resolve().parents[2]
OPERATOR_PASSWORDS = {"alice": "alice-abuse-password-1", "bob": "bob-abuse-password-22"}
# what a gateway process inherits from the run's environment: nothing that could hold a credential
INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")


class GatewayProblem(RuntimeError):
    """A gateway process did not start (its log's last lines say why)."""


def default_python(env: Mapping[str, str] | None = None) -> str:
    """GATEWAY_PYTHON if set, else .venv-gateway's Python if the checkout has one, else this one."""
    env = os.environ if env is None else env
    if env.get("GATEWAY_PYTHON"):
        return env["GATEWAY_PYTHON"]
    candidate = REPO / ".venv-gateway" / "bin" / "python"
    return str(candidate) if candidate.exists() else sys.executable


class GatewayProcess:
    """One started gateway: its PID, and how to stop it."""

    def __init__(self, popen: subprocess.Popen[bytes], log: Path) -> None:
        self.popen = popen
        self.pid = popen.pid
        self.log = log
        self.started = time.monotonic()
        self.ready_after: float | None = None
        self.signalled: float | None = None

    @property
    def running(self) -> bool:
        return self.popen.poll() is None

    def send(self, sig: signal.Signals) -> None:
        if self.running:
            self.signalled = self.signalled or time.monotonic()
            os.kill(self.pid, sig)

    def term(self) -> None:
        self.send(signal.SIGTERM)

    async def wait(self, timeout: float) -> float | None:
        """Seconds from the first signal to the exit, or None if it is still running after ``timeout``."""
        deadline = time.monotonic() + timeout
        while self.running and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if self.running:
            return None
        return time.monotonic() - (self.signalled or self.started)

    async def terminate(self, timeout: float) -> float | None:
        """SIGTERM, then wait: the seconds it took to exit, or None (and SIGKILL) after ``timeout``."""
        self.send(signal.SIGTERM)
        took = await self.wait(timeout)
        if took is None:
            self.kill()
        return took

    def kill(self) -> None:
        self.send(signal.SIGKILL)
        try:
            self.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL cannot be refused
            pass

    def memory_kb(self) -> tuple[int, int]:
        """(resident now, peak resident since the start) in KiB, from /proc (0, 0 once it has exited)."""
        try:
            status = Path(f"/proc/{self.pid}/status").read_text()
        except OSError:
            return 0, 0
        values = {}
        for line in status.splitlines():
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                values[name] = int(rest.split()[0])
        return values.get("VmRSS", 0), values.get("VmHWM", 0)


class Site:
    """One gateway deployment on 127.0.0.1: environment, port, var dir, and its processes."""

    def __init__(self, name: str, var_dir: Path, port: int, rasa_url: str, api_url: str, python: str,
                 overrides: Mapping[str, str | None] | None = None, operators: bool = True,
                 source: Path = REPO) -> None:
        self.name = name
        self.var_dir = var_dir
        self.port = port
        self.python = python
        self.source = source
        self.processes: list[GatewayProcess] = []
        var_dir.mkdir(parents=True, exist_ok=True)
        self.env = {key: os.environ[key] for key in INHERITED if key in os.environ}
        self.env.update(gateway_env(api_url))
        self.env.update({
            "GATEWAY_HOST": HOST, "GATEWAY_PORT": str(port), "RASA_URL": rasa_url,
            "GATEWAY_DB": str(var_dir / "gateway.sqlite3"),
            "CASES_DB_URL": f"sqlite:///{var_dir / 'cases.sqlite3'}",
            "PYTHONPATH": str(source), "PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1",
        })
        for key, value in (overrides or {}).items():
            if value is None:
                self.env.pop(key, None)
            else:
                self.env[key] = str(value)
        self.operators = operators

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def current(self) -> GatewayProcess:
        return self.processes[-1]

    def add_operators(self) -> None:
        """alice and bob, straight into the case store (as `rights operator add` would), with the
        gateway's own code when it runs from another checkout."""
        if self.source != REPO:
            script = ("import os; from channels.cases import CaseStore; store = CaseStore(os.environ['CASES_DB_URL'])\n"
                      "for name, password in (('alice', os.environ['ALICE']), ('bob', os.environ['BOB'])):\n"
                      "    store.add_operator(name, password)\n")
            subprocess.run([self.python, "-c", script], cwd=self.source, check=True, timeout=120,  # noqa: S603
                           env={**self.env, "ALICE": OPERATOR_PASSWORDS["alice"], "BOB": OPERATOR_PASSWORDS["bob"]})
            return
        from channels.cases import CaseError, CaseStore

        store = CaseStore(self.env["CASES_DB_URL"])
        try:
            for name, password in OPERATOR_PASSWORDS.items():
                try:
                    store.add_operator(name, password)
                except CaseError:  # already there: a restart of the same site
                    pass
        finally:
            store.close()

    async def start(self, timeout: float = 30.0) -> GatewayProcess:
        """Start a gateway process and wait until it answers HTTP; a port still held by a process
        that is shutting down is waited for (the start is tried again until ``timeout``)."""
        if self.operators and not self.processes:
            await asyncio.get_running_loop().run_in_executor(None, self.add_operators)
        deadline = time.monotonic() + timeout
        await self._port_released(deadline)
        while True:
            process = self._spawn()
            problem = await self._ready(process, deadline)
            if problem is None:
                return process
            if "address already in use" not in problem.lower() or time.monotonic() > deadline:
                process.kill()
                raise GatewayProblem(f"gateway {self.name} did not start: {problem}")
            await asyncio.sleep(0.2)

    def _spawn(self) -> GatewayProcess:
        log = self.var_dir / f"gateway-{len(self.processes) + 1}.log"
        # `python -m channels` since the gateway has its own environment; an older checkout has only main()
        if (self.source / "channels" / "__main__.py").exists():
            command = [self.python, "-m", "channels"]
        else:
            command = [self.python, "-c", "import sys; from channels.app import main; sys.exit(main())"]
        with log.open("ab") as out:
            popen = subprocess.Popen(  # noqa: S603 - our own interpreter and module, no shell
                command, cwd=self.source, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True)
        process = GatewayProcess(popen, log)
        self.processes.append(process)
        return process

    async def _port_released(self, deadline: float) -> None:
        """Wait while another process still listens on the port (one that is shutting down), so
        that the new process's /healthz answer cannot be the old one's."""
        while time.monotonic() < deadline:
            try:
                _, writer = await asyncio.open_connection(HOST, self.port)
            except OSError:
                return
            writer.close()
            await asyncio.sleep(0.1)

    async def _ready(self, process: GatewayProcess, deadline: float) -> str | None:
        """None once ``process`` answers /healthz (any status), else why it never will."""
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                if not process.running:
                    return tail(process.log)
                try:
                    async with session.get(f"{self.url}/healthz", timeout=aiohttp.ClientTimeout(total=2)):
                        process.ready_after = time.monotonic() - process.started
                        return None
                except (aiohttp.ClientError, asyncio.TimeoutError, OSError):
                    await asyncio.sleep(0.1)
        return "not answering after the start timeout: " + tail(process.log)

    async def close(self, timeout: float = 15.0) -> None:
        """Stop every process this site started (SIGTERM, then SIGKILL after ``timeout``)."""
        running = [p for p in self.processes if p.running]
        await asyncio.gather(*(p.terminate(timeout) for p in running))

    def logs(self) -> list[Path]:
        return [p.log for p in self.processes]


def tail(log: Path, lines: int = 8) -> str:
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return " | ".join(text.strip().splitlines()[-lines:]) or "(empty log)"
