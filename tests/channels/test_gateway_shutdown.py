"""Stopping the gateway (the security report's runs G, G' and H): SIGTERM stops taking work at
once, lets what is in flight finish for up to GATEWAY_SHUTDOWN_SECONDS, releases the rest and
exits, and the next start answers every message exactly once. The gateway runs here as a real
process (``channels.app.main``, what ``rights gateway`` runs), the fake Rasa and the fake
Telegram API in this test's event loop on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
from aiohttp import web

from channels.settings import Settings
from tests.channels.conftest import FakeApi, FakeRasa, _serve, env_for, payload
from tests.channels.platforms.test_telegram import PATH, env, sign
from tests.conftest import REPO, free_port

TEXT = payload("telegram", "text.json")
# what `rights gateway` runs (bot/commands/hotline.py), without the bot package's CLI around it
RUN_GATEWAY = "from channels.app import main; raise SystemExit(main())"


def telegram_update(n: int, chat: int, text: str) -> bytes:
    """A signed-off private Telegram message: update ``n`` from chat ``chat``."""
    body = json.loads(TEXT)
    body["update_id"] = 700000 + n
    body["message"]["message_id"] = n
    body["message"]["chat"]["id"] = body["message"]["from"]["id"] = chat
    body["message"]["text"] = text
    return json.dumps(body).encode()


@dataclass
class SlowRasa(FakeRasa):
    """The fake Rasa, answering each message after ``delay`` seconds, with a reply that names it."""

    delay: float = 0.0
    started: list[str] = field(default_factory=list)  # texts, as each call arrives
    # set when the test ends: a call still waiting is answered, so the server can close
    released: asyncio.Event = field(default_factory=asyncio.Event)
    one_at_a_time: bool = False  # a Rasa that answers one message after the other
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        async with self.lock if self.one_at_a_time else contextlib.nullcontext():
            self.started.append(body["message"])
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.released.wait(), self.delay)
        self.received.append(body)
        return web.json_response([{"recipient_id": body["sender"], "text": f"echo {body['message']}"}])


@dataclass
class SlowApi(FakeApi):
    """The fake platform API, answering after ``delay`` seconds."""

    delay: float = 0.0

    async def handle(self, request: web.Request) -> web.Response:
        await asyncio.sleep(self.delay)
        return await super().handle(request)


Fake = TypeVar("Fake", SlowRasa, SlowApi)


@contextlib.asynccontextmanager
async def serving(fake: Fake) -> AsyncIterator[Fake]:
    """A fake Rasa or platform API on 127.0.0.1 for the length of the block."""
    server = await _serve(fake.handle)
    fake.url = str(server.make_url("")).rstrip("/")
    try:
        yield fake
    finally:
        if isinstance(fake, SlowRasa):
            fake.released.set()
        await server.close()


@dataclass
class GatewayProcess:
    """A gateway process on a free port of 127.0.0.1, its output in ``log``."""

    proc: asyncio.subprocess.Process
    url: str
    log: Path

    async def post(self, session: aiohttp.ClientSession, body: bytes) -> int:
        async with session.post(self.url + PATH, data=body, headers=sign(b"", "valid")) as response:
            return response.status

    async def stop(self, how: signal.Signals = signal.SIGTERM, timeout: float = 120.0) -> float:
        """Send ``how``; seconds until the process has exited."""
        started = time.monotonic()
        self.proc.send_signal(how)
        await asyncio.wait_for(self.proc.wait(), timeout)
        return time.monotonic() - started

    def events(self) -> list[dict[str, Any]]:
        lines = self.log.read_text("utf-8", "replace").splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]


async def start_gateway(tmp_path: Path, rasa_url: str, api_url: str, name: str = "gateway",
                        **overrides: Any) -> GatewayProcess:
    """Start a gateway process on the stores in ``tmp_path``; return once /healthz answers."""
    port = free_port()
    environment = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO),
                   **env_for(tmp_path, rasa_url, GATEWAY_PORT=port, **env(api_url), **overrides)}
    log = tmp_path / f"{name}.log"
    with log.open("ab") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", RUN_GATEWAY, cwd=str(REPO), env=environment,
            stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=out)
    gateway = GatewayProcess(proc, f"http://127.0.0.1:{port}", log)
    deadline = time.monotonic() + 30
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if proc.returncode is not None:
                raise AssertionError(f"the gateway exited with {proc.returncode}:\n{log.read_text()}")
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(gateway.url + "/healthz") as response:
                    if response.status == 200:
                        return gateway
            await asyncio.sleep(0.1)
    proc.kill()
    raise AssertionError(f"the gateway did not start:\n{log.read_text()}")


@contextlib.asynccontextmanager
async def running(tmp_path: Path, rasa_url: str, api_url: str, name: str = "gateway",
                  **overrides: Any) -> AsyncIterator[GatewayProcess]:
    """A gateway process that is killed (by its own PID) if the test leaves it running."""
    gateway = await start_gateway(tmp_path, rasa_url, api_url, name, **overrides)
    try:
        yield gateway
    finally:
        if gateway.proc.returncode is None:
            gateway.proc.kill()
            await gateway.proc.wait()


async def until(condition: Any, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not met within {timeout} s")
        await asyncio.sleep(0.02)


def claims_held(tmp_path: Path) -> int:
    with contextlib.closing(sqlite3.connect(tmp_path / "gateway.sqlite3")) as db:
        return sum(db.execute(f"SELECT COUNT(*) FROM {table} WHERE owner IS NOT NULL").fetchone()[0]
                   for table in ("inbox", "outbox"))


async def queue_backlog(gateway: GatewayProcess, count: int, conversations: int) -> list[str]:
    """Post ``count`` messages spread over ``conversations`` chats; their texts."""
    texts = [f"message {n}" for n in range(count)]
    async with aiohttp.ClientSession() as session:
        statuses = [await gateway.post(session, telegram_update(n, 6100000000 + n % conversations, text))
                    for n, text in enumerate(texts)]
    assert set(statuses) == {200}
    return texts


# the lost cancel (run H): the probe's pattern, on the gateway's own _sleep


async def test_a_cancel_is_not_lost_when_the_wake_up_comes_in_the_same_turn(tmp_path: Path) -> None:
    from channels.gateway import Gateway

    gateway = Gateway(Settings.from_env(env_for(tmp_path, "http://127.0.0.1:9")), {})
    outcomes = []
    for _ in range(5):
        event = asyncio.Event()

        async def loop(event: asyncio.Event) -> None:
            while True:  # like the inbox loop: sleep until woken, round after round
                await gateway._sleep(event, None)

        task = asyncio.create_task(loop(event))
        await asyncio.sleep(0.01)
        event.set()  # a worker finishing wakes the loop ...
        await asyncio.sleep(0)  # ... its Event.wait() completes in this turn ...
        task.cancel()  # ... and the stop cancels the loop in the same moment
        done, _ = await asyncio.wait({task}, timeout=2.5)
        outcomes.append("ended" if done else "cancel lost")
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await gateway.stop()
    assert outcomes == ["ended"] * 5


# SIGTERM with a backlog (runs G and H), and the next start


async def test_sigterm_with_a_backlog_finishes_what_is_in_flight_and_the_next_start_answers_the_rest(
        tmp_path: Path, slow_rasa: SlowRasa, slow_api: SlowApi) -> None:
    shutdown_seconds = Settings.shutdown_seconds
    slow_rasa.delay = 3.0
    async with running(tmp_path, slow_rasa.url, slow_api.url) as first:
        texts = await queue_backlog(first, 50, conversations=25)
        await until(lambda: len(slow_rasa.started) >= 8, what="every worker busy with Rasa")
        in_flight = list(slow_rasa.started)
        seconds = await first.stop(signal.SIGTERM, timeout=shutdown_seconds + 30)
    assert first.proc.returncode == 0
    assert seconds < shutdown_seconds + 3, f"exit took {seconds:.1f} s"
    assert slow_rasa.started == in_flight, "no new Rasa call after SIGTERM"
    assert len(slow_rasa.received) == len(in_flight), "what was in flight was finished, not cut"
    assert claims_held(tmp_path) == 0, "nothing is left claimed for the next start"

    slow_rasa.delay = 0.0
    async with running(tmp_path, slow_rasa.url, slow_api.url, name="second") as second:
        await slow_api.wait_for(len(texts), timeout=60)
        await asyncio.sleep(0.5)  # anything sent twice would arrive now
        await second.stop()
    assert sorted(m["message"] for m in slow_rasa.received) == sorted(texts), "each message reached Rasa once"
    sent = sorted(r.json()["text"] for r in slow_api.requests)
    assert sent == sorted(f"echo {text}" for text in texts), "each reply reached the person once"


async def test_sigterm_cuts_what_outlasts_the_shutdown_time_and_releases_it(
        tmp_path: Path, slow_rasa: SlowRasa, slow_api: SlowApi) -> None:
    slow_rasa.delay = 600.0  # Rasa hangs
    async with running(tmp_path, slow_rasa.url, slow_api.url, GATEWAY_SHUTDOWN_SECONDS=1) as first:
        texts = await queue_backlog(first, 12, conversations=12)
        await until(lambda: len(slow_rasa.started) >= 8, what="every worker busy with Rasa")
        seconds = await first.stop(signal.SIGTERM, timeout=60)
    assert first.proc.returncode == 0
    assert seconds < 1 + 3, f"exit took {seconds:.1f} s"
    assert len(slow_rasa.started) == 8 and not slow_rasa.received
    assert claims_held(tmp_path) == 0

    slow_rasa.delay = 0.0
    async with running(tmp_path, slow_rasa.url, slow_api.url, name="second") as second:
        await slow_api.wait_for(len(texts), timeout=30)
        await second.stop()
    sent = sorted(r.json()["text"] for r in slow_api.requests)
    assert sent == sorted(f"echo {text}" for text in texts), "each person answered once"


async def test_sigterm_on_an_idle_gateway(tmp_path: Path, slow_rasa: SlowRasa, slow_api: SlowApi) -> None:
    async with running(tmp_path, slow_rasa.url, slow_api.url) as gateway:
        seconds = await gateway.stop(signal.SIGTERM, timeout=60)
    assert gateway.proc.returncode == 0
    assert seconds < 3, f"exit took {seconds:.1f} s"
    assert [e["event"] for e in gateway.events()][-1] == "gateway_stopped"



async def test_a_web_chat_post_waiting_for_its_answer_is_released_by_the_stop(
        tmp_path: Path, slow_rasa: SlowRasa) -> None:
    from channels.models import Inbound
    from tests.channels.conftest import gateway_for, serve

    slow_rasa.delay = 600.0
    gateway = gateway_for(tmp_path, slow_rasa.url, WEBCHAT_ENABLED="true", GATEWAY_SHUTDOWN_SECONDS="0.5")
    client = await serve(gateway)
    try:
        row = await gateway.accept(Inbound("webchat", "m1", "s3ss10n-0123456789abcdef", "text", "hello"))
        assert row is not None
        waiting = asyncio.ensure_future(gateway.wait_processed(row, timeout=600))
        await until(lambda: bool(slow_rasa.started), what="the message reached Rasa")
        await gateway.shutdown()
        done, _ = await asyncio.wait({waiting}, timeout=5)
        assert done and waiting.result() is False, "the POST answers 'pending' now, not after 600 s"
        assert await gateway.db(gateway.store.inbox_status, row) == "pending", "kept for the next start"
        assert claims_held(tmp_path) == 0
        assert await gateway.wait_processed(row, timeout=600) is False
    finally:
        await client.close()
