"""The country sets load, and the finder gets them right often enough to notice a regression
(measured: 0.985 on the development set, 0.973 on the held-out set; the issue's target is 0.97)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from knowledge.states.evaluate import COUNTRY_SET, evaluate, load_cases

HELD_OUT = COUNTRY_SET.with_name("countries_heldout.jsonl")


@pytest.mark.parametrize("path", [COUNTRY_SET, HELD_OUT])
def test_country_sets(path: Path) -> None:
    cases = load_cases(path)
    assert len(cases) >= 80 and {c.lang for c in cases} == {"en", "es", "fr", "ar"}
    results = evaluate(cases)
    assert sum(r.right for r in results) / len(results) >= 0.95


def test_a_bad_line_is_reported_with_its_number(tmp_path: Path) -> None:
    bad = tmp_path / "set.jsonl"
    bad.write_text(json.dumps({"text": "I work in Oman", "lang": "en", "country": "OM"}) + "\n{oops\n", "utf-8")
    with pytest.raises(ValueError, match=r"set.jsonl:2"):
        load_cases(bad)
