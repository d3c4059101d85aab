"""The urgency rules: the YAML is checked and compiled on first use, guards switch signals off,
and a broken file names every problem at once. No model is needed here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from knowledge.triage import RULES_FILE, TriageError, UrgencyRules, match_rules
from knowledge.vocab import SUPPORTED_LANGUAGES, URGENCY_CATEGORIES

REPO = Path(__file__).resolve().parents[3]


def _raw() -> Any:
    return yaml.safe_load(RULES_FILE.read_text("utf-8"))


def _load(tmp_path: Path, data: Any) -> UrgencyRules:
    path = tmp_path / "urgency_rules.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    return UrgencyRules.load(path)


@pytest.fixture(scope="module")
def rules() -> UrgencyRules:
    return UrgencyRules.load()


def test_shipped_rules_cover_every_language_and_are_checked_in_order(rules: UrgencyRules) -> None:
    assert set(rules.languages) == set(SUPPORTED_LANGUAGES)
    assert sorted(rules.order) == sorted(URGENCY_CATEGORIES)
    assert all(language.guard is not None for language in rules.languages.values())
    for lang, language in rules.languages.items():
        names = [cat for cat, _ in language.signals]
        assert names == [cat for cat in rules.order if cat in names], lang


def test_alternatives_are_joined_as_whole_words_or_anywhere(rules: UrgencyRules) -> None:
    assert rules.patterns["en"]["self_harm"].startswith(r"\b(kill(ing)? (my|him|her)sel(f|ves)|")
    assert rules.patterns["en"]["self_harm"].endswith(r")\b")
    assert rules.patterns["zh"]["self_harm"] == "(自杀|不想活|想死|寻死|割自己|割腕|结束自己的生命|跳楼)"
    # one quoted pattern is used as written
    assert rules.patterns["en"]["child_alone"] == (
        r"\bi'?m (1[0-7]|[7-9])\b.{0,40}\b(alone|no family|by myself|no parents)\b")
    # a kept passport is not an emergency by itself: no language has a documents signal (the model decides)
    assert not any("documents" in signals for signals in rules.patterns.values())


def test_rules_are_not_read_at_import() -> None:
    code = ("import knowledge.triage, knowledge.triage.detector, knowledge.triage.evaluate; "
            "from knowledge.triage.rules import default_rules; print(default_rules.cache_info().currsize)")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True,
                         timeout=120)
    assert out.stdout.strip() == "0"


@pytest.mark.parametrize("text,lang", [
    ("my boss hit me 3 years ago in dubai, can i still report it?", "en"),
    ("si algún día me detienen, ¿tengo derecho a un abogado?", "es"),
    ("il y a deux ans mon patron m'a frappé, je peux porter plainte ?", "fr"),
    ("去年老板打我，现在还能告吗", "zh"),
    ("is there a rule about how long they can keep us in the detention centre?", "en"),
    ("gata barsa police le malai samatyo, aba mudda halna milcha?", "ne"),  # Roman Nepali: last year
])
def test_guards_switch_rules_off_for_past_and_hypothetical(text: str, lang: str) -> None:
    assert match_rules(text, lang) is None


@pytest.mark.parametrize("text,lang,expected", [
    ("mi esposo me está golpeando", "es", ("violence", "es")),
    # another language's signal still fires: a wrong language guess must not hide an emergency
    ("mi esposo me está golpeando", "en", ("violence", "es")),
    ("mi esposo me está golpeando", None, ("violence", "es")),
    # the first category in the checking order wins (self_harm before violence)
    ("he beats me and i want to die", "en", ("self_harm", "en")),
    # a typographic apostrophe reads as a plain one
    ("i can’t breathe", "en", ("medical", "en")),
    # Roman Nepali, as people type it (a Roman Nepali "I want to die" got only a handoff message)
    ("malai aatmahatya garna man lagyo", "ne", ("self_harm", "ne")),
    ("police le malai samatyo, thana ma chu", "ne", ("detention", "ne")),
    ("sahu le malai kutchha, bachau", "ne", ("violence", "ne")),
])
def test_signals(text: str, lang: str | None, expected: tuple[str, str]) -> None:
    assert match_rules(text, lang) == expected


def test_the_guard_of_the_messages_language_switches_other_languages_off() -> None:
    # "el año pasado" is a Spanish guard; the English signal is switched off by it too
    assert match_rules("el año pasado my boss is hitting me", "es") is None
    assert match_rules("my boss is hitting me", "es") == ("violence", "en")


@pytest.mark.parametrize("text,asks", [
    ("they took my passport at a check, is that normal?", True),
    ("¿es legal que el patrón se quede con el pasaporte?", True),
    ("they took my passport, is that legal? help me now", False),  # a call for help: not a question
    ("they took my passport", False),
])
def test_asks_if_allowed(rules: UrgencyRules, text: str, asks: bool) -> None:
    assert rules.asks_if_allowed(text) is asks


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    data = _raw()
    data["languages"]["en"]["earthquake"] = ["shaking"]
    data["languages"]["es"]["violence"] = ["me (pega"]
    data["languages"]["fr"]["medical"] = []
    with pytest.raises(TriageError) as info:
        _load(tmp_path, data)
    message = str(info.value)
    assert "urgency_rules.yaml has 3 problem(s)" in message
    assert "unknown category 'earthquake'" in message
    assert "es).violence: not a valid regular expression" in message
    assert "fr).medical: expected a list of quoted alternatives" in message


@pytest.mark.parametrize("change,expected", [
    (lambda d: d.update(order=d["order"][:-1]), "(order): list every category once"),
    (lambda d: d["languages"]["en"].pop("whole_words"), "(languages, en): expected 'whole_words: true'"),
    (lambda d: d.pop("now_or_help"), "expected exactly the sections"),
    (lambda d: d["asks_if_allowed"].update(en="is it legal"), "(asks_if_allowed): expected per language a list"),
])
def test_malformed_rules_are_refused(tmp_path: Path, change: Any, expected: str) -> None:
    data = _raw()
    change(data)
    with pytest.raises(TriageError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        _load(tmp_path, data)


def test_invalid_yaml_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "urgency_rules.yaml"
    bad.write_text("order: [unclosed\n", "utf-8")
    with pytest.raises(TriageError, match="not valid YAML"):
        UrgencyRules.load(bad)
    with pytest.raises(TriageError, match="file not found"):
        UrgencyRules.load(tmp_path / "absent.yaml")
