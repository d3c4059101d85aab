"""The indexing pipeline: corpus and ingested chunks -> embeddings -> FAISS index and manifest ->
calibration of the "no good match" decision (the similarity floor and the scope model).

Kept apart from query time (``knowledge.search.retriever``), as Haystack keeps indexing
pipelines apart from query pipelines: the action server only loads what this wrote.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from knowledge.answers.language import glossed
from knowledge.corpus.ingest import load_chunks
from knowledge.corpus.model import Corpus
from knowledge.embedding.embedders import Embedder
from knowledge.search.index import Manifest, build
from knowledge.search.retriever import RetrievalConfig, Retriever
from knowledge.search.scope import ScopeModel, train
from knowledge.settings import DATA_DIR
from knowledge.triage.examples import load_examples
from knowledge.vocab import romanized

# share of the calibration's rights questions allowed to fall under the similarity floor
FLOOR_QUANTILE = 0.02


class Indexer:
    """Builds the index in ``folder`` for ``embedder`` when the corpus changed, and calibrates it."""

    def __init__(self, folder: Path, embedder: Embedder, corpus: Corpus | None = None,
                 config: RetrievalConfig | None = None, ingest_dir: Path | None = None):
        self.folder = Path(folder)
        self.embedder = embedder
        self.config = config or RetrievalConfig()
        self.ingest_dir = ingest_dir or self.folder.parent / "ingested"
        self._corpus = corpus

    @property
    def corpus(self) -> Corpus:
        if self._corpus is None:
            self._corpus = Corpus.load()
        return self._corpus

    def retriever(self) -> Retriever:
        """A query-time retriever over this index (sharing the embedder and the loaded corpus)."""
        return Retriever(self.folder, self.embedder, corpus=self.corpus, config=self.config,
                         ingest_dir=self.ingest_dir)

    def build(self, force: bool = False, progress: bool = True) -> tuple[Manifest, bool]:
        """Build the index if the corpus changed (or ``force``), then calibrate it if it is new
        or was never calibrated. Returns the manifest and whether anything was embedded."""
        manifest, built = build(self.folder, self.embedder, self.corpus, load_chunks(self.ingest_dir),
                                questions=self.config.questions, force=force, progress=progress)
        if built or manifest.no_match_threshold is None:
            retriever = self.retriever()
            threshold, report, scope = calibrate(retriever)
            scope.save(self.folder)
            manifest = Manifest.read(self.folder)
            manifest.no_match_threshold = threshold
            manifest.calibration = report
            manifest.write(self.folder)
        return manifest, built


def calibration_messages() -> tuple[list[str], list[str]]:
    """(in-scope, out-of-scope) chat messages written for calibration, in many languages."""
    oos = yaml.safe_load((DATA_DIR / "out_of_scope.yaml").read_text("utf-8"))["messages"]
    cal = yaml.safe_load((DATA_DIR / "calibration.yaml").read_text("utf-8"))
    inside = [str(m["text"]) for m in cal["in_scope"]]
    outside = [str(m) for m in oos] + [str(m["text"]) for m in cal["out_of_scope"]]
    return inside, outside


def situations() -> list[str]:
    """The urgency model's urgent messages, in scope for the scope model. They tell a situation
    rather than ask ("my friend on a fishing boat was beaten, no food for two days"), as the typical
    questions rarely do; without them such a message could be refused as small talk."""
    return [e.text for e in load_examples() if e.urgent]


def _scope_questions(questions: tuple[str, ...] | list[str], lang: str) -> list[str]:
    """The typical questions of one entry that teach the scope model: the first, and the first one
    typed in Latin letters where the language has its own script (Roman Nepali, Roman Bengali),
    glossed as a person's message is before it is searched. With the first question alone, Roman
    messages were rarer in scope than in the corpus, and "amar visa shesh hoye geche, ki korbo?"
    was not covered."""
    roman = [glossed(q) for q in questions if romanized(q, lang)][:1]
    return [*questions[:1], *roman]


def calibrate(retriever: Retriever) -> tuple[float, dict[str, object], ScopeModel]:
    """Train the scope model and set the similarity floor under which we say "not covered".

    In scope: per provision and language the first typical question and the first one in Latin
    letters (glossed), rights questions written in fifteen languages for calibration, and urgent
    situations told (``situations``); out of
    scope: everyday chat messages (``content/data/calibration.yaml``, ``content/data/out_of_scope.yaml``; none of them
    from the evaluation set). The floor is low on purpose: it only refuses what is far from
    every provision; the scope model decides the rest.
    """
    in_texts, out_texts = calibration_messages()
    corpus_questions = [q for e in retriever.corpus for q in _scope_questions(e.questions, e.lang)]
    embed = retriever.embedder.embed_queries
    inside_vectors = np.vstack([embed(in_texts), embed(corpus_questions), embed(situations())])
    outside_vectors = embed(out_texts)
    scope, report = train(inside_vectors, outside_vectors)
    scores = np.array([retriever.rank(q, k=1, vector=v[None, :])[0].score
                       for q, v in zip(in_texts, inside_vectors[: len(in_texts)], strict=True)])
    floor = float(np.quantile(scores, FLOOR_QUANTILE))
    report["similarity_floor"] = round(floor, 5)
    report["similarity_floor_keeps"] = round(float((scores >= floor).mean()), 4)
    return round(floor, 5), dict(report), scope
