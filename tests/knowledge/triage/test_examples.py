"""The labelled messages the urgency model learns from (content/data/urgent.yaml)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from knowledge.triage import TriageError, load_examples
from knowledge.vocab import SUPPORTED_LANGUAGES, URGENCY_CATEGORIES


def test_urgent_data_is_complete() -> None:
    examples = load_examples()
    for lang in SUPPORTED_LANGUAGES:
        urgent = [e for e in examples if e.lang == lang and e.urgent]
        not_urgent = [e for e in examples if e.lang == lang and not e.urgent]
        assert {e.topic for e in urgent} == set(URGENCY_CATEGORIES), lang
        assert min(sum(e.topic == c for e in urgent) for c in URGENCY_CATEGORIES) >= 3, lang
        assert len(not_urgent) >= len(urgent), lang


def test_translations_of_a_scenario_share_a_position_and_labels_keep_urgent_apart() -> None:
    examples = load_examples()
    first = [e for e in examples if e.urgent and e.topic == "violence" and e.position == 0]
    assert {e.lang for e in first} == set(SUPPORTED_LANGUAGES)
    assert {e.label for e in first} == {"U:violence"}
    assert {e.label for e in examples if not e.urgent and e.topic == "violence"} == {"N:violence"}


def test_malformed_data_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "urgent.yaml"
    bad.write_text(yaml.safe_dump({"en": {"urgent": {"earthquake": ["help"]}, "not_urgent": {}}}), "utf-8")
    with pytest.raises(TriageError, match="earthquake"):
        load_examples(bad)


@pytest.mark.parametrize("data,expected", [
    ({"en": {"urgent": {"violence": ["he hits me"]}}}, "needs exactly the keys urgent and not_urgent"),
    ({"en": {"urgent": {"violence": ["he hits me", " "]}, "not_urgent": {}}}, "en.urgent.violence must be a list"),
    ({"en": {"urgent": {"violence": ["he hits me"]}, "not_urgent": {}}}, "needs both urgent and not_urgent"),
    ({"en": {"urgent": ["he hits me"], "not_urgent": {}}}, "en.urgent must map a category"),
])
def test_each_kind_of_mistake_is_named(tmp_path: Path, data: object, expected: str) -> None:
    bad = tmp_path / "urgent.yaml"
    bad.write_text(yaml.safe_dump(data), "utf-8")
    with pytest.raises(TriageError, match=expected):
        load_examples(bad)
