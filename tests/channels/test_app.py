"""The composed application: how `rights gateway` starts it, and the shape of the channels package
(no module imports one that imports it; nothing from the other processes' packages)."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

import channels
from channels import app as app_module
from channels.app import QuietAccessLogger, main
from channels.errors import ConfigError
from tests.channels.conftest import SECRET

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
