"""Shared machinery for channel tests, after courier's handler tests: tables of cases run by one
runner against the real gateway app, with a fake platform API and a fake Rasa server, both on
127.0.0.1 (test doubles: they stand in for services these tests must not reach)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from channels.app import GATEWAY_KEY, QuietAccessLogger, build_app, gateway_from_env
from channels.base import Channel
from channels.gateway import Gateway
from channels.settings import Settings

if TYPE_CHECKING:
    from tests.channels.test_gateway_shutdown import SlowApi, SlowRasa

TESTDATA = Path(__file__).parent / "testdata"
SECRET = "test-gateway-secret-0123456789"
METRICS_TOKEN = "test-metrics-token-0123456789"
# what an operator's scraper sends for /metrics and the full /healthz
METRICS_AUTH = {"Authorization": f"Bearer {METRICS_TOKEN}"}


def payload(channel: str, name: str) -> bytes:
    """A recorded webhook body from tests/channels/testdata/<channel>/<name>."""
    return (TESTDATA / channel / name).read_bytes()


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        from urllib.parse import parse_qsl

        return dict(parse_qsl(self.body.decode(), keep_blank_values=True))


@dataclass
class FakeApi:
    """A platform API on 127.0.0.1: records every request, answers from a script (then 200)."""

    default_body: Any = field(default_factory=lambda: {"ok": True})
    requests: list[Recorded] = field(default_factory=list)
    script: list[tuple[int, dict[str, str], Any]] = field(default_factory=list)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append(Recorded(request.method, request.path_qs, dict(request.headers),
                                      await request.read()))
        if self.script:
            status, headers, body = self.script.pop(0)
        else:
            status, headers, body = 200, {}, self.default_body
        return web.json_response(body, status=status, headers=headers)

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[Recorded]:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.requests) < count:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"expected {count} API requests, got {len(self.requests)}")
            await asyncio.sleep(0.02)
        return self.requests


@dataclass
class FakeRasa:
    """Rasa's REST channel on 127.0.0.1: records what the gateway forwards, replies with buttons."""

    received: list[dict[str, Any]] = field(default_factory=list)
    reply: Callable[[dict[str, Any]], list[dict[str, Any]]] | None = None
    fail_next: int = 0
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        if self.fail_next:
            self.fail_next -= 1
            return web.json_response({"error": "down"}, status=503)
        body = await request.json()
        self.received.append(body)
        if self.reply is not None:
            return web.json_response(self.reply(body))
        return web.json_response([
            {"recipient_id": body["sender"], "text": f"reply {len(self.received)}",
             "buttons": [{"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]},
        ])


async def _serve(handler: Callable[[web.Request], Awaitable[web.Response]]) -> TestServer:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    # the fake platform's own access log would show the token in Telegram's URL: that is the
    # platform's log, not ours, so it is off
    server = TestServer(app, host="127.0.0.1")
    await server.start_server(access_log=None)
    return server


@pytest.fixture
async def fake_api() -> Any:
    api = FakeApi()
    server = await _serve(api.handle)
    api.url = str(server.make_url("")).rstrip("/")
    yield api
    await server.close()


@pytest.fixture
async def fake_rasa() -> Any:
    rasa = FakeRasa()
    server = await _serve(rasa.handle)
    rasa.url = str(server.make_url("")).rstrip("/")
    yield rasa
    await server.close()


def env_for(tmp_path: Path, rasa_url: str, **overrides: Any) -> dict[str, str]:
    """A gateway's environment: its stores in ``tmp_path``, Rasa at ``rasa_url``, the web chat off."""
    env = {"GATEWAY_SECRET": SECRET, "GATEWAY_DB": str(tmp_path / "gateway.sqlite3"),
           "CASES_DB_URL": f"sqlite:///{tmp_path / 'cases.sqlite3'}",
           "RASA_URL": rasa_url, "WEBCHAT_ENABLED": "false", "GATEWAY_METRICS_TOKEN": METRICS_TOKEN}
    env.update({key: str(value) for key, value in overrides.items()})
    return env


def settings_for(tmp_path: Path, rasa_url: str, **overrides: Any) -> Settings:
    return Settings.from_env(env_for(tmp_path, rasa_url, **overrides))


def gateway_for(tmp_path: Path, rasa_url: str, channels: dict[str, Channel] | None = None,
                **overrides: Any) -> Gateway:
    """The gateway ``rights gateway`` would build from this environment (or with these channels)."""
    env = env_for(tmp_path, rasa_url, **overrides)
    return gateway_from_env(env) if channels is None else Gateway(Settings.from_env(env), channels)


async def serve(gateway: Gateway) -> TestClient:
    """The gateway's whole app on 127.0.0.1, as `rights gateway` runs it; the caller closes it."""
    server = TestServer(build_app(gateway), host="127.0.0.1")
    await server.start_server(access_log_class=QuietAccessLogger)
    client = TestClient(server)
    await client.start_server()
    return client


@pytest.fixture
async def started(tmp_path: Path, fake_rasa: FakeRasa) -> Any:
    """``await started(env)`` -> TestClient running the real gateway; closed after the test."""
    clients: list[TestClient] = []

    async def start(env: dict[str, str], channels: dict[str, Channel] | None = None) -> TestClient:
        client = await serve(gateway_for(tmp_path, fake_rasa.url, channels, **env))
        clients.append(client)
        return client

    yield start
    for client in clients:
        await client.close()


async def send_raw(client: TestClient, method: str, path: str, headers: dict[str, str | bytes],
                   body: bytes = b"", length: bool = True) -> tuple[int, bytes]:
    """Send a request byte for byte, as aiohttp's client cannot (it re-encodes a header holding
    0xFF): the status and body of the answer. The connection closes after it. ``length``: send
    Content-Length (leave it out for a chunked body)."""
    fields: dict[str, str | bytes] = {"Host": f"{client.host}:{client.port}", "Connection": "close"}
    if length:
        fields["Content-Length"] = str(len(body))
    fields.update(headers)
    head = [f"{method} {path} HTTP/1.1".encode("utf-8", "surrogateescape")]
    head += [name.encode() + b": " + (value if isinstance(value, bytes) else value.encode()) for name, value in
             fields.items()]
    reader, writer = await asyncio.open_connection(client.host, client.port)
    try:
        writer.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
        await writer.drain()
        answer = await reader.read()
    finally:
        writer.close()
    status_line, _, rest = answer.partition(b"\r\n")
    return int(status_line.split(b" ")[1]), rest.partition(b"\r\n\r\n")[2]


def gateway_of(client: TestClient) -> Gateway:
    return client.server.app[GATEWAY_KEY]


async def settle(client: TestClient, timeout: float = 10.0) -> None:
    """Wait until the gateway has processed its inbox and emptied its outbox."""
    gateway = gateway_of(client)
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        pending = await gateway.db(gateway.store.next_inbox_time)
        backlog = await gateway.db(gateway.store.backlog)
        if pending is None and backlog == 0 and not gateway._busy_in and not gateway._busy_out:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the gateway did not settle")


@dataclass(frozen=True)
class Case:
    """One row of a channel's table: a request and what must come of it."""

    label: str
    body: bytes
    status: int = 200
    # (kind, text) of each message forwarded to Rasa, in order; media arrives as /media_received
    forwarded: tuple[str, ...] = ()
    signature: str = "valid"  # valid | missing | forged
    content_type: str = "application/json"


SignFn = Callable[[bytes, str], dict[str, str]]


async def run_cases(client: TestClient, path: str, cases: list[Case], sign: SignFn,
                    rasa: Any, caplog: pytest.LogCaptureFixture) -> None:
    """Post each case to ``path``, signed as the case says; check status and what reached Rasa."""
    caplog.set_level(logging.INFO)
    for case in cases:
        before = len(rasa.received)
        headers = {"Content-Type": case.content_type, **sign(case.body, case.signature)}
        response = await client.post(path, data=case.body, headers=headers)
        assert response.status == case.status, f"{case.label}: HTTP {response.status} {await response.text()}"
        await settle(client)
        got = tuple(item["message"] for item in rasa.received[before:])
        assert got == case.forwarded, f"{case.label}: forwarded {got}, expected {case.forwarded}"


def random_bodies(seed: int, count: int = 60) -> list[bytes]:
    """Random and half-valid bodies: junk bytes, wrong JSON shapes, truncated JSON, deep nesting."""
    import random

    rng = random.Random(seed)
    shapes: list[Any] = [None, 0, "x", [], {}, {"object": "page"}, {"entry": "x"}, {"entry": [None]},
                         {"entry": [{"changes": [{"value": None}]}]}, {"update_id": "1"},
                         {"update_id": 1, "message": "x"}, {"event": "message", "sender": None},
                         {"event": "message", "message": {"type": "text"}}]
    bodies: list[bytes] = []
    for i in range(count):
        pick = i % 4
        if pick == 0:
            bodies.append(bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 300))))
        elif pick == 1:
            bodies.append(json.dumps(rng.choice(shapes)).encode())
        elif pick == 2:
            text = json.dumps({"entry": [{"messaging": [{"sender": {"id": rng.random()}}]}], "n": i})
            bodies.append(text[: rng.randint(1, len(text) - 1)].encode())
        else:
            depth = rng.randint(1, 40)
            bodies.append(("[" * depth + "]" * depth).encode())
    return bodies


async def fuzz(client: TestClient, path: str, sign: SignFn, rasa: Any, seed: int,
               content_type: str = "application/json") -> None:
    """Signed random payloads: never a 5xx, and nothing reaches Rasa."""
    before = len(rasa.received)
    for body in random_bodies(seed):
        headers = {"Content-Type": content_type, **sign(body, "valid")}
        response = await client.post(path, data=body, headers=headers)
        assert response.status < 500, f"HTTP {response.status} for {body[:80]!r}"
    await settle(client)
    assert len(rasa.received) == before


def assert_not_logged(caplog: pytest.LogCaptureFixture, *secrets: str) -> None:
    """None of ``secrets`` (tokens, phone numbers, message text) appears in any log record."""
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert logged, "nothing was logged, so this check would prove nothing"
    for secret in secrets:
        assert secret not in logged, f"{secret[:6]}... appears in the logs"


async def answer_once(started: Any, env: dict[str, str], path: str, body: bytes, headers: dict[str, str],
                      api: FakeApi, caplog: pytest.LogCaptureFixture,
                      answer: tuple[int, dict[str, str], Any]) -> list[Recorded]:
    """Post one signed message and let the fake API give ``answer`` to the first reply; the
    requests the API received once the gateway has settled."""
    caplog.set_level(logging.INFO)
    api.script = [answer]
    client = await started(env)
    await client.post(path, data=body, headers=headers)
    await api.wait_for(1)
    await settle(client)
    return api.requests


def reply_outcomes(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str | None]]:
    """(event, reason) of every reply_sent / reply_retry / reply_dropped log line, in order."""
    events = [json.loads(r.getMessage()) for r in caplog.records if r.name == "channels"]
    return [(e["event"], e.get("reason")) for e in events if e["event"].startswith("reply_")]


# A Rasa and a platform API that answer slowly, for the lease, fairness and shutdown tests
# (tests/channels/test_gateway_shutdown.py defines them).


@pytest.fixture
async def slow_rasa() -> AsyncIterator[SlowRasa]:
    from tests.channels.test_gateway_shutdown import SlowRasa, serving

    async with serving(SlowRasa()) as rasa:
        yield rasa


@pytest.fixture
async def slow_api() -> AsyncIterator[SlowApi]:
    from tests.channels.test_gateway_shutdown import SlowApi, serving

    async with serving(SlowApi()) as api:
        yield api
