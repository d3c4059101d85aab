"""The urgency evaluation set: its shape, its independence from the training data, and its scoring."""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from pathlib import Path

import pytest

from knowledge.triage.examples import load_examples
from knowledge.triage.testset import (
    NEAR_MISSES,
    NONE,
    SET_DIR,
    Labelled,
    UrgencySetError,
    format_report,
    load_set,
    score,
)
from knowledge.vocab import FALLBACK_CATEGORY, SUPPORTED_LANGUAGES, URGENCY_CATEGORIES

DEV_SET = Path(__file__).resolve().parents[3].parent / "shared" / "eval" / "dev.jsonl"


def _urgent(lang: str, category: str, n: int = 1) -> Labelled:
    return Labelled(f"{lang}-{category}-{n}", lang, f"{category} now {n}", category, None, False)


def _near(lang: str, kind: str, n: int = 1) -> Labelled:
    return Labelled(f"{lang}-{kind}-{n}", lang, f"{kind} asked {n}", None, kind, kind == "wages")


def test_a_wrong_category_is_a_miss_and_a_false_alarm() -> None:
    items = [_urgent("ne", "documents"), _urgent("ne", "self_harm"), _near("ne", "kept_passport")]
    report = score(items, ["self_harm", "self_harm", "self_harm"])
    cats = report["languages"]["ne"]["categories"]
    assert cats["documents"] == {"tp": 0, "fn": 1, "fp": 0, "recall": 0.0, "precision": None}
    assert cats["self_harm"] == {"tp": 1, "fn": 0, "fp": 2, "recall": 1.0, "precision": 0.333}
    assert report["overall"]["all"]["recall"] == 0.5  # one of two urgent messages got its own category
    assert report["overall"]["false_alarms"] == 1 and report["overall"]["wrong_category"] == 1
    assert report["near_miss_alarms"]["kept_passport"] == [1, 1]
    matrix = report["overall"]["confusion"]
    assert matrix["documents"]["self_harm"] == 1 and matrix[NONE]["self_harm"] == 1


def test_the_generic_danger_steps_count_as_a_category_of_their_own() -> None:
    items = [_urgent("es", "violence"), _near("es", "wages")]
    report = score(items, [FALLBACK_CATEGORY, FALLBACK_CATEGORY])
    assert report["overall"]["all"] == {"tp": 0, "fn": 1, "fp": 2, "recall": 0.0, "precision": 0.0}
    assert report["overall"]["confusion"]["violence"][FALLBACK_CATEGORY] == 1
    assert report["overall"]["confusion"][NONE][FALLBACK_CATEGORY] == 1


def test_no_alarm_on_near_misses_and_every_emergency_found_scores_one() -> None:
    items = [_urgent("tl", c) for c in URGENCY_CATEGORIES] + [_near("tl", k) for k in NEAR_MISSES]
    report = score(items, [i.category for i in items])
    block = report["languages"]["tl"]
    assert block["all"]["recall"] == 1.0 and block["all"]["precision"] == 1.0 and block["false_alarms"] == 0
    text = format_report(report, matrices=True)
    assert "| tl | 1.000 | 1.000 | 0/10 | 0 |" in text
    assert "Confusion matrix, tl:" in text


@pytest.mark.parametrize(("line", "message"), [
    ('{"id": "x", "lang": "en", "text": "t", "category": "fire", "near_miss": null}', "unknown category"),
    ('{"id": "x", "lang": "en", "text": "t", "category": null, "near_miss": null}', "exactly one of"),
    ('{"id": "x", "lang": "en", "text": "t", "category": "medical", "near_miss": "fees"}', "exactly one of"),
    ('{"id": "x", "lang": "en", "text": "t", "category": "medical", "near_miss": null, "soon": true}', "'soon'"),
    ('{"id": "x", "lang": "en", "text": "", "category": "medical", "near_miss": null}', "'text'"),
    ("not json", "not JSON"),
])
def test_a_malformed_line_is_named(tmp_path: Path, line: str, message: str) -> None:
    (tmp_path / "en.jsonl").write_text(line + "\n", "utf-8")
    with pytest.raises(UrgencySetError, match=rf"en\.jsonl:1: .*{re.escape(message)}"):
        load_set(tmp_path)


# the set itself


@pytest.fixture(scope="module")
def the_set() -> list[Labelled]:
    return load_set(SET_DIR)


def test_every_language_of_the_dev_set_has_30_urgent_and_30_near_misses(the_set: list[Labelled]) -> None:
    dev_languages = {json.loads(line)["lang"] for line in DEV_SET.read_text("utf-8").splitlines()} \
        if DEV_SET.is_file() else set(SUPPORTED_LANGUAGES)
    by_lang = Counter((i.lang, i.category is not None) for i in the_set)
    for lang in sorted(dev_languages):
        assert by_lang[(lang, True)] >= 30, f"{lang}: {by_lang[(lang, True)]} urgent messages"
        assert by_lang[(lang, False)] >= 30, f"{lang}: {by_lang[(lang, False)]} near misses"
        categories = Counter(i.category for i in the_set if i.lang == lang and i.category)
        assert set(categories) == set(URGENCY_CATEGORIES), f"{lang}: categories {sorted(categories)}"
        kinds = {i.near_miss for i in the_set if i.lang == lang and i.near_miss}
        assert kinds == set(NEAR_MISSES), f"{lang}: near misses missing {set(NEAR_MISSES) - kinds}"
        assert any(i.soon for i in the_set if i.lang == lang), f"{lang}: no 'needs help soon' message"


def _normal(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    return re.sub(r"[\W_]+", " ", text).strip()


def test_no_message_of_the_set_is_in_the_training_data(the_set: list[Labelled]) -> None:
    """The detector is trained on urgent.yaml only: the set must not repeat it, even re-punctuated."""
    trained = {_normal(e.text) for e in load_examples()}
    repeated = [i.id for i in the_set if _normal(i.text) in trained]
    assert not repeated, f"in the training data too: {repeated}"
    texts = Counter(_normal(i.text) for i in the_set)
    assert [t for t, n in texts.items() if n > 1] == []
