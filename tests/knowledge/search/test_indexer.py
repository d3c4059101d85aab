from __future__ import annotations

import shutil
from pathlib import Path

from knowledge.search.indexer import Indexer, calibration_messages
from knowledge.search.retriever import Retriever


def test_an_unchanged_corpus_is_not_embedded_again(retriever: Retriever, tmp_path: Path) -> None:
    folder = tmp_path / "index"
    shutil.copytree(retriever.folder, folder)
    indexer = Indexer(folder, retriever.embedder, corpus=retriever.corpus, ingest_dir=tmp_path / "none")
    manifest, built = indexer.build(progress=False)
    assert not built and manifest.no_match_threshold == retriever.threshold


def test_calibration_messages_are_not_from_the_evaluation_set() -> None:
    inside, outside = calibration_messages()
    assert len(inside) > 50 and len(outside) > 50
    dev = Path(__file__).resolve().parents[4] / "shared" / "eval" / "dev.jsonl"
    if dev.exists():
        import json

        texts = {json.loads(line)["text"] for line in dev.read_text("utf-8").splitlines() if line.strip()}
        assert not texts & (set(inside) | set(outside))


def test_ingested_document_is_searchable_with_its_provenance(retriever: Retriever, tmp_path: Path) -> None:
    from knowledge.corpus.ingest import chunk_document, save_chunks

    leaflet = tmp_path / "hotline.md"
    leaflet.write_text(
        "# Harbour City Migrant Centre\n\nThe Harbour City Migrant Centre runs a free legal clinic for "
        "fishermen every Tuesday at pier 7, with interpreters for Burmese and Khmer.\n", "utf-8")
    ingest = tmp_path / "ingested"
    save_chunks(chunk_document(leaflet, id_prefix="local:harbour"), ingest, "hotline")
    folder = tmp_path / "index"
    shutil.copytree(retriever.folder, folder)  # same embedder: only the new chunk is embedded
    indexer = Indexer(folder, retriever.embedder, corpus=retriever.corpus, ingest_dir=ingest)
    manifest, built = indexer.build(progress=False)
    local = indexer.retriever()
    assert built and manifest.passages == len(retriever.index.passages) + 1
    hits = local.rank("free legal clinic for fishermen at the pier with an interpreter", "en", k=3)
    assert hits[0].id == "local:harbour:para1"
    assert "pier 7" in hits[0].text and hits[0].lang == "en"
