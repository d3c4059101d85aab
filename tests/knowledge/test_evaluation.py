"""The evaluation report's arithmetic on a fake retriever (no index), and one embedding per item
when an urgency detector is evaluated too."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from knowledge import evaluation
from knowledge.errors import KnowledgeError
from knowledge.search.retriever import Hit, SearchResult
from knowledge.triage import Urgency

# question -> the citations the fake retriever ranks, best first ([] = refused)
RANKED = {
    "my boss took my passport": ["icrmw:art21", "cmw-gc1:documents"],
    "can my children go to school": ["icrmw:art45:p1", "icrmw:art30", "icrmw:art30:p2"],
    "can i join a union": ["icrmw:art40", "icrmw:art39", "icrmw:art38", "icrmw:art26"],
    "lasagna recipe": [],
    "the weather tomorrow": ["icrmw:art1"],
    "he is beating me now": ["icrmw:art16"],
}
ITEMS = [
    # (id, lang, text, gold, urgent)
    ("a", "en", "my boss took my passport", ["icrmw:art21"], False),  # rank 1
    ("b", "es", "can my children go to school", ["icrmw:art30"], False),  # rank 2 (art45 first)
    ("c", "en", "can i join a union", ["icrmw:art26"], None),  # rank 4
    ("d", "en", "lasagna recipe", [], False),  # out of scope, refused
    ("e", "fr", "the weather tomorrow", [], None),  # out of scope, answered
    ("f", "en", "he is beating me now", ["icrmw:art16"], True),  # rank 1
]


class FakeEmbedder:
    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        return np.full((len(texts), 4), float(len(self.calls)), dtype=np.float32)


class FakeRetriever:
    def __init__(self) -> None:
        self.embedder = FakeEmbedder()
        self.vectors: list[np.ndarray | None] = []

    def embed(self, question: str) -> np.ndarray:
        return self.embedder.embed_queries([" ".join(question.split())])

    def search(self, question: str, lang: str = "en", k: int = 5, vector: np.ndarray | None = None) -> SearchResult:
        self.vectors.append(vector)
        ranked = [Hit(cid, 1.0 - i / 10, lang, "") for i, cid in enumerate(RANKED[" ".join(question.split())][:k])]
        return SearchResult(question, lang, ranked, bool(ranked), 0.5, ranked)


@dataclass
class Guess:
    lang: str


class FakeIdentifier:
    """Right for every item but "e" (a French item read as English)."""

    def identify(self, text: str) -> Guess:
        return Guess({"can my children go to school": "es"}.get(text, "en"))


class FakeDetector:
    def __init__(self) -> None:
        self.vectors: list[np.ndarray | None] = []

    def detect(self, text: str, lang: str | None = None, vector: np.ndarray | None = None) -> Urgency:
        self.vectors.append(vector)
        urgent = "beating" in text or "passport" in text  # one right, one false alarm
        return Urgency(urgent, "violence" if urgent else None, 0.9 if urgent else 0.1, "model")


def _items() -> list[evaluation.Item]:
    return [evaluation.Item(i, lang, text, frozenset(gold), urgent) for i, lang, text, gold, urgent in ITEMS]


def _run(urgency: Any = None, retriever: FakeRetriever | None = None) -> list[evaluation.Outcome]:
    return evaluation.run(_items(), retriever or FakeRetriever(), FakeIdentifier(), k=10,  # type: ignore[arg-type]
                          urgency=urgency)


def test_recall_mrr_refusal_and_language_accuracy() -> None:
    outcomes = _run()
    assert [o.rank() for o in outcomes] == [1, 2, 4, None, None, 1]
    # sections of a document count as the document, once
    assert outcomes[1].ranked_docs == ["icrmw:art45", "icrmw:art30"]
    overall = evaluation.summarize(outcomes)["overall"]
    assert overall == {
        "recall@1": 0.5, "recall@3": 0.75, "recall@5": 1.0, "mrr": round((1 + 1 / 2 + 1 / 4 + 1) / 4, 4),
        "oos_refusal": 0.5, "lang_id_accuracy": round(5 / 6, 4), "answer_in_lang": round(5 / 6, 4), "n": 6,
    }


def test_per_language_scores_and_the_table() -> None:
    report = evaluation.summarize(_run())
    per = report["per_language"]
    assert list(per) == ["en", "es", "fr"]
    assert per["fr"] == {"recall@1": None, "recall@3": None, "recall@5": None, "mrr": None, "oos_refusal": 0.0,
                         "lang_id_accuracy": 0.0, "answer_in_lang": 0.0, "n": 1}
    table = evaluation.format_table(report).splitlines()
    assert table[0].split() == ["lang", "recall@1", "recall@3", "recall@5", "mrr", "oos_refusal",
                                "lang_id_accuracy", "answer_in_lang", "n"]
    assert table[1].split()[:2] == ["overall", "0.500"] and table[-1].split()[-2:] == ["0.000", "1"]


def test_a_language_without_content_is_recognised_but_answered_in_english() -> None:
    item = evaluation.Item("pt1", "pt", "o patrão ficou com o meu passaporte", frozenset({"icrmw:art21"}), None)
    scores = evaluation.summarize([evaluation.Outcome(item, "pt", True, ["icrmw:art21"])])["overall"]
    assert scores["lang_id_accuracy"] == 1.0 and scores["answer_in_lang"] == 0.0


def test_urgency_is_scored_on_labelled_items_with_one_embedding_each() -> None:
    retriever, detector = FakeRetriever(), FakeDetector()
    outcomes = _run(detector, retriever)
    assert [o.urgent_predicted for o in outcomes] == [True, False, False, False, False, True]
    overall = evaluation.summarize(outcomes)["overall"]
    # labelled: a (false alarm), b, d (right: not urgent), f (caught); c and e carry no label
    assert (overall["urgent_recall"], overall["urgent_precision"]) == (1.0, 0.5)
    assert "urgent_recall" in evaluation.format_table(evaluation.summarize(outcomes))
    # one embedding per item, and the very vector the search used went to the detector
    assert len(retriever.embedder.calls) == len(ITEMS)
    assert all(v is not None for v in retriever.vectors)
    assert all(s is d for s, d in zip(retriever.vectors, detector.vectors, strict=True))


def test_without_a_detector_the_search_embeds_and_no_urgency_is_reported() -> None:
    retriever = FakeRetriever()
    outcomes = _run(retriever=retriever)
    assert retriever.embedder.calls == [] and retriever.vectors == [None] * len(ITEMS)
    assert all(o.urgent_predicted is None for o in outcomes)
    assert "urgent_recall" not in evaluation.summarize(outcomes)["overall"]


def test_load_items(tmp_path: Path) -> None:
    path = tmp_path / "dev.jsonl"
    path.write_text("\n".join([
        json.dumps({"id": "x", "lang": "en", "text": "t", "gold": ["cmw-gc2:para12"], "acceptable": ["icrmw:art21"]}),
        "",
        json.dumps({"lang": "es", "text": "u", "gold": [], "urgent": True}),
    ]), "utf-8")
    first, second = evaluation.load_items(path)
    assert first.relevant == frozenset({"cmw-gc2", "icrmw:art21"}) and first.urgent is None
    assert (second.id, second.relevant, second.urgent) == ("line3", frozenset(), True)
    path.write_text('{"lang": "en"}\n', "utf-8")
    with pytest.raises(KnowledgeError, match=r"dev\.jsonl:1: expected a JSON object"):
        evaluation.load_items(path)
