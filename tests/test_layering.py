"""The packages follow the processes (DESIGN.md, "Layering"), checked on the import graph.

Every import statement counts, including those inside functions: a lazy import still ties the
packages together.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("knowledge", "actions", "channels", "bot")

# package (or module prefix) -> top-level names it must never import
FORBIDDEN: dict[str, set[str]] = {
    # the domain core: no framework, no process package
    "knowledge": {"rasa", "rasa_sdk", "aiohttp", "sanic", "actions", "channels", "bot"},
    # the public gateway: nothing of the core, the actions or Rasa
    "channels": {"knowledge", "actions", "bot", "rasa", "rasa_sdk", "sanic"},
    # the action server: the core, rasa-sdk, and only the gateway's contract module
    "actions": {"bot", "rasa", "aiohttp"},
    # what runs inside the Rasa server: the core and Rasa, not the other processes
    "bot.plugins": {"actions", "channels", "rasa_sdk"},
}
# the only modules of channels/ another package may import: the typed contract between processes
CHANNELS_CONTRACT = {"channels.directives", "channels.errors"}


def _modules() -> Iterator[tuple[str, Path]]:
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            parts = path.relative_to(REPO).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            yield name, path


def _imports(name: str, path: Path, typing_only: bool = True) -> Iterator[str]:
    """What ``name`` imports; with ``typing_only=False``, not what it imports only for type
    checking (``if TYPE_CHECKING:``), which cannot make a cycle at run time."""
    tree = ast.parse(path.read_text("utf-8"), str(path))
    skipped: set[int] = set()
    if not typing_only:
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                skipped |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:  # relative: resolve against this module's package
                base = package[: len(package) - (node.level - 1)]
                module = ".".join([*base, module] if module else base)
            yield module
            yield from (f"{module}.{alias.name}" for alias in node.names)


GRAPH = {name: sorted(set(_imports(name, path))) for name, path in _modules()}
RUNTIME_GRAPH = {name: sorted(set(_imports(name, path, typing_only=False))) for name, path in _modules()}


def _rule(module: str) -> tuple[str, set[str]] | None:
    for prefix in sorted(FORBIDDEN, key=len, reverse=True):
        if module == prefix or module.startswith(prefix + "."):
            return prefix, FORBIDDEN[prefix]
    return None


def test_the_graph_is_not_empty() -> None:
    assert len(GRAPH) > 40
    assert "knowledge.search.retriever" in GRAPH and "knowledge.vocab" in GRAPH["knowledge.search.retriever"]


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_no_import_crosses_a_layer(module: str) -> None:
    rule = _rule(module)
    if rule is None:
        return
    prefix, forbidden = rule
    wrong = [imported for imported in GRAPH[module] if imported.split(".")[0] in forbidden]
    if module.startswith("actions"):
        wrong += [imported for imported in GRAPH[module] if imported.startswith("channels")
                  and not any(imported == c or imported.startswith(c + ".") for c in CHANNELS_CONTRACT)
                  and imported not in {"channels"}]
    assert not wrong, f"{module} ({prefix}) imports {wrong}"


def test_no_import_cycle() -> None:
    ours = {m: [i for i in imports if i in GRAPH and i != m] for m, imports in RUNTIME_GRAPH.items()}
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        path.append(m)
        for n in ours[m]:
            if state.get(n) == 1:
                pytest.fail("import cycle: " + " -> ".join([*path[path.index(n):], n]))
            elif n not in state:
                visit(n)
        path.pop()
        state[m] = 2

    for m in sorted(ours):
        if m not in state:
            visit(m)


def _loaded_by(statement: str) -> set[str]:
    code = f"import sys; {statement}; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True,
                         timeout=300)
    return set(out.stdout.split())


@pytest.mark.slow
def test_the_action_server_loads_only_the_actions_and_the_core() -> None:
    loaded = _loaded_by("import actions.server")
    assert not {m for m in loaded if m == "rasa" or m.startswith(("rasa.", "bot", "tensorflow"))}
    assert not {m for m in loaded if m.startswith("channels") and m not in CHANNELS_CONTRACT | {"channels"}}


def test_the_gateway_loads_nothing_of_the_core_or_rasa() -> None:
    loaded = _loaded_by("import channels.app")
    assert not {m for m in loaded if m.startswith(("knowledge", "actions", "bot", "rasa", "tensorflow", "numpy"))}
