"""Evaluation of retrieval, the no-match decision and language identification on a JSONL file.

Each line: ``{"id", "lang", "text", "gold": [...], "acceptable": [...], ...}``. An empty ``gold``
means the message is out of scope: the right behaviour is to refuse. Gold and acceptable IDs
both count as hits, compared at document level (``cmw-gc2:para12`` counts as ``cmw-gc2``).

Recall is measured on what the person would see: a question the retriever refuses has no hits.
With an urgency detector, each item is embedded once: the vector the search uses is passed to the
detector too.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from knowledge.answers.language import LanguageIdentifier
from knowledge.errors import KnowledgeError
from knowledge.search.retriever import SearchResult
from knowledge.triage import Urgency
from knowledge.vocab import SUPPORTED_LANGUAGES, answer_language, document_id

# answer_in_lang: the share of messages whose answer is written in their own language (the language
# found, if the assistant has content in it; English otherwise)
KEYS = ("recall@1", "recall@3", "recall@5", "mrr", "oos_refusal", "lang_id_accuracy", "answer_in_lang", "n")
URGENT_KEYS = ("urgent_recall", "urgent_precision")


class Searcher(Protocol):
    """What the evaluation needs of a retriever: the query vector as its search computes it, and a
    search that takes that vector."""

    def embed(self, question: str) -> np.ndarray: ...

    def search(self, question: str, lang: str = "en", k: int = 5, vector: np.ndarray | None = None) -> SearchResult:
        ...


class Detector(Protocol):
    """What the evaluation needs of an urgency detector (``knowledge.triage.UrgencyDetector``)."""

    def detect(self, text: str, lang: str | None = None, vector: np.ndarray | None = None) -> Urgency: ...


@dataclass(frozen=True)
class Item:
    id: str
    lang: str
    text: str
    relevant: frozenset[str]
    urgent: bool | None


@dataclass(frozen=True)
class Outcome:
    item: Item
    predicted_lang: str
    covered: bool
    ranked_docs: list[str]
    urgent_predicted: bool | None = None

    def rank(self) -> int | None:
        for i, doc in enumerate(self.ranked_docs, 1):
            if doc in self.item.relevant:
                return i
        return None


def load_items(path: Path) -> list[Item]:
    """Read an evaluation file; any problem is reported with its line number."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise KnowledgeError(f"cannot read {path}: {exc.strerror}") from exc
    items: list[Item] = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            text, lang = str(raw["text"]), str(raw["lang"])
            gold = list(raw.get("gold") or [])
            acceptable = list(raw.get("acceptable") or [])
        except (ValueError, KeyError, TypeError) as exc:
            raise KnowledgeError(
                f"{path}:{n}: expected a JSON object with 'text', 'lang' and 'gold' ({exc})"
            ) from exc
        items.append(Item(
            id=str(raw.get("id", f"line{n}")),
            lang=lang,
            text=text,
            relevant=frozenset(document_id(i) for i in gold + acceptable) if gold else frozenset(),
            urgent=raw.get("urgent"),
        ))
    if not items:
        raise KnowledgeError(f"{path}: no evaluation items")
    return items


def run(
    items: Iterable[Item],
    searcher: Searcher,
    identifier: LanguageIdentifier | None = None,
    k: int = 10,
    progress: Callable[[int], None] | None = None,
    urgency: Detector | None = None,
) -> list[Outcome]:
    """Search every item; with an ``urgency`` detector (knowledge.triage), also say if it is urgent.

    With a detector, the item's query vector is computed once (``Searcher.embed``) and given to
    both the search and the detector: each item is embedded once, not twice.
    """
    identifier = identifier or LanguageIdentifier()
    outcomes = []
    for i, item in enumerate(items, 1):
        lang = identifier.identify(item.text).lang
        vector = searcher.embed(item.text) if urgency is not None and item.text.strip() else None
        result = searcher.search(item.text, lang=lang, k=k, vector=vector)
        docs: list[str] = []
        for hit in result.hits:
            if hit.document not in docs:
                docs.append(hit.document)
        urgent = None if urgency is None else bool(urgency.detect(item.text, lang, vector=vector).urgent)
        outcomes.append(Outcome(item, lang, result.covered, docs, urgent))
        if progress:
            progress(i)
    return outcomes


def _score(outcomes: list[Outcome]) -> dict[str, float | int | None]:
    in_scope = [o for o in outcomes if o.item.relevant]
    oos = [o for o in outcomes if not o.item.relevant]
    ident = [o for o in outcomes if o.item.lang in SUPPORTED_LANGUAGES]

    def mean(values: list[float]) -> float | None:
        return round(sum(values) / len(values), 4) if values else None

    ranks = [o.rank() for o in in_scope]
    scores: dict[str, float | int | None] = {
        f"recall@{k}": mean([1.0 if r is not None and r <= k else 0.0 for r in ranks])
        for k in (1, 3, 5)
    }
    scores["mrr"] = mean([1.0 / r if r else 0.0 for r in ranks])
    scores["oos_refusal"] = mean([0.0 if o.covered else 1.0 for o in oos])
    scores["lang_id_accuracy"] = mean(
        [1.0 if o.predicted_lang == o.item.lang else 0.0 for o in ident]
    )
    scores["answer_in_lang"] = mean([1.0 if answer_language(o.predicted_lang) == o.item.lang else 0.0
                                     for o in outcomes])
    labelled = [o for o in outcomes if o.item.urgent is not None and o.urgent_predicted is not None]
    if labelled:
        hits = sum(1 for o in labelled if o.item.urgent and o.urgent_predicted)
        said = sum(1 for o in labelled if o.urgent_predicted)
        really = sum(1 for o in labelled if o.item.urgent)
        scores["urgent_recall"] = round(hits / really, 4) if really else None
        scores["urgent_precision"] = round(hits / said, 4) if said else None
    scores["n"] = len(outcomes)
    return scores


def summarize(outcomes: list[Outcome]) -> dict[str, object]:
    langs = sorted({o.item.lang for o in outcomes})
    return {
        "overall": _score(outcomes),
        "per_language": {lang: _score([o for o in outcomes if o.item.lang == lang]) for lang in langs},
    }


def format_table(report: dict[str, object]) -> str:
    def cell(value: object) -> str:
        if value is None:
            return "-"
        return str(value) if isinstance(value, int) else f"{value:.3f}"

    overall = report["overall"]
    assert isinstance(overall, dict)
    keys = [*KEYS[:-1], *(k for k in URGENT_KEYS if k in overall), KEYS[-1]]
    header = ["lang", *keys]
    rows = [["overall", *(cell(overall.get(k)) for k in keys)]]
    per = report["per_language"]
    assert isinstance(per, dict)
    rows += [[lang, *(cell(scores.get(k)) for k in keys)] for lang, scores in per.items()]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True))]
    lines += ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(lines)
