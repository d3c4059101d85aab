"""The composed application: how `rights gateway` starts it, the shape of the channels package
(no module imports one that imports it; nothing from the other processes' packages), /metrics and
/healthz, and odd input on the surface that needs no credential, the web chat."""

from __future__ import annotations

import ast
import logging
from pathlib import Path
from typing import Any

import pytest

import channels
from channels import app as app_module
from channels.app import QuietAccessLogger, main
from channels.errors import ConfigError
from tests.channels.conftest import METRICS_AUTH, METRICS_TOKEN, SECRET, gateway_of, send_raw
from tests.channels.platforms.test_telegram import env as telegram_env

PACKAGE = Path(channels.__file__).parent
# The gateway runs alone on the public side: it never needs the knowledge core, Rasa or the actions.
FORBIDDEN = {"knowledge", "actions", "bot", "rasa", "rasa_sdk"}


def imports() -> dict[str, set[str]]:
    """Every channels module and the channels modules it imports (at the top, inside functions or
    under TYPE_CHECKING alike: a cycle through any of them is still a cycle to a reader)."""
    graph: dict[str, set[str]] = {}
    modules = {_name(path) for path in PACKAGE.rglob("*.py")}
    for path in PACKAGE.rglob("*.py"):
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
                found |= {f"{node.module}.{alias.name}" for alias in node.names}
        graph[_name(path)] = found
    return {name: {m for m in found if m in modules and m != name} | {m for m in found if m.split(".")[0] in FORBIDDEN}
            for name, found in graph.items()}


def _name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_no_module_imports_one_that_imports_it() -> None:
    graph = imports()
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        for target in sorted(graph.get(node, ())):
            if target in path:
                cycles.append([*path[path.index(target):], target])
            elif target in graph and not done.get(target):
                visit(target, [*path, target])
        done[node] = True

    done: dict[str, bool] = {}
    for module in sorted(graph):
        visit(module, [module])
    assert cycles == []


def test_the_gateway_needs_no_other_package_of_the_project() -> None:
    reaching = {name: sorted(m for m in found if m.split(".")[0] in FORBIDDEN) for name, found in imports().items()}
    assert {name: found for name, found in reaching.items() if found} == {}


def test_main_runs_the_app_the_environment_configures(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    ran: dict[str, Any] = {}
    monkeypatch.setattr(app_module.web, "run_app", lambda app, **kwargs: ran.update(app=app, **kwargs))
    for key, value in {"GATEWAY_SECRET": SECRET, "GATEWAY_PORT": "8181", "GATEWAY_DB": str(tmp_path / "g.sqlite3"),
                       "CASES_DB_URL": f"sqlite:///{tmp_path / 'c.sqlite3'}", "WEBCHAT_ENABLED": "true"}.items():
        monkeypatch.setenv(key, value)
    assert main() == 0
    assert (ran["host"], ran["port"], ran["access_log_class"]) == ("127.0.0.1", 8181, QuietAccessLogger)
    paths = {route.resource.canonical for route in ran["app"].router.routes() if route.resource is not None}
    assert {"/chat", "/console", "/healthz", "/metrics"} <= paths
    assert not any(path.startswith("/webhooks/") for path in paths), "no platform is configured"


def test_main_leaves_a_configuration_error_to_its_caller(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GATEWAY_SECRET", raising=False)
    with pytest.raises(ConfigError, match="set GATEWAY_SECRET"):
        main()


# /metrics and /healthz (security report, finding 10: both were public on the only public port)


async def test_metrics_answer_only_to_the_token(started, fake_api) -> None:
    client = await started(telegram_env(fake_api.url))
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {METRICS_TOKEN}"},
                    {"Authorization": f"Bearer {METRICS_TOKEN}x"}, {"Authorization": METRICS_TOKEN},
                    {"Authorization": f"Bearer {METRICS_TOKEN[:-1]}\xff"}):
        response = await client.get("/metrics", headers=headers)
        assert response.status == 401, headers
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert "gateway_" not in await response.text()
    status, _ = await send_raw(client, "GET", "/metrics", {"Authorization": b"Bearer \xff\xfe"})
    assert status == 401
    response = await client.get("/metrics", headers=METRICS_AUTH)
    assert response.status == 200 and "gateway_messages_in_total" in await response.text()
    response = await client.get("/metrics", headers={"Authorization": f"bearer  {METRICS_TOKEN} "})
    assert response.status == 200, "the scheme is case-insensitive (RFC 9110), spaces around the token do not count"


async def test_metrics_are_off_without_a_token(started, fake_api) -> None:
    client = await started({**telegram_env(fake_api.url), "GATEWAY_METRICS_TOKEN": ""})
    for headers in ({}, {"Authorization": "Bearer "}, METRICS_AUTH):
        assert (await client.get("/metrics", headers=headers)).status == 404


async def test_health_tells_a_stranger_only_whether_all_is_well(started, fake_api) -> None:
    client = await started(telegram_env(fake_api.url))
    response = await client.get("/healthz")
    assert response.status == 200 and await response.json() == {"status": "ok", "problems": []}
    for headers in ({"Authorization": "Bearer wrong"}, {"Authorization": f"Bearer {METRICS_TOKEN}x"}):
        assert await (await client.get("/healthz", headers=headers)).json() == {"status": "ok", "problems": []}
    full = await (await client.get("/healthz", headers=METRICS_AUTH)).json()
    assert full["status"] == "ok" and full["channels"] == ["telegram"] and "inbox" in full and "loops" in full


async def test_health_without_a_metrics_token_is_status_and_problems_for_everyone(started, fake_api) -> None:
    client = await started({**telegram_env(fake_api.url), "GATEWAY_METRICS_TOKEN": ""})
    for headers in ({}, METRICS_AUTH):
        assert await (await client.get("/healthz", headers=headers)).json() == {"status": "ok", "problems": []}


# the web chat's share of the report's odd input (rows 2.3, 2.8: no credential needed)


@pytest.mark.parametrize("body", [
    b"[" * 16_000,
    b'{"session": "' + b"s" * 32 + b'", "id": "1", "text": ' + b'{"a": ' * 1500 + b"1" + b"}" * 1500 + b"}",
    b'{"session": "' + b"s" * 32 + b'", "id": "2", "text": "x\\ud800y"}',
    b'{"session": "' + b"s" * 32 + b'", "id": "3", "text": "hi", "after": ' + b"9" * 5000 + b"}",
], ids=["16 KB of [", "nested object in text", "lone surrogate in text", "5,000-digit number"])
async def test_the_web_chat_refuses_odd_json_with_a_400(started, fake_api, fake_rasa, caplog, body) -> None:
    caplog.set_level(logging.INFO)
    client = await started({"WEBCHAT_ENABLED": "true"})
    response = await client.post("/chat/api/messages", data=body, headers={"Content-Type": "application/json"})
    assert response.status == 400
    assert "invalid JSON" in (await response.json())["error"]
    gateway = gateway_of(client)
    assert (await gateway.db(gateway.store.stats)).inbox_pending == 0 and fake_rasa.received == []
    assert "Traceback" not in caplog.text
