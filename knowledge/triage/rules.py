"""Danger signals and guards per language, from ``content/data/urgency_rules.yaml``.

Rules fire even when the model is unsure, which is why they exist: "me está pegando" is an
emergency however the classifier scores it. A signal is ignored when the message also carries a
past or hypothetical marker (a guard) of its language, and then the model decides. The file
explains how the patterns are written; this module checks and compiles them, once, on first use.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from knowledge.content_check import raise_problems, read_yaml
from knowledge.settings import DATA_DIR
from knowledge.triage.errors import TriageError
from knowledge.vocab import URGENCY_CATEGORIES

RULES_FILE = DATA_DIR / "urgency_rules.yaml"
GUARD = "guard"
_FLAGS = re.IGNORECASE | re.UNICODE
_SECTIONS = ("order", "languages", "asks_if_allowed", "now_or_help")


@dataclass(frozen=True)
class LanguageRules:
    """Compiled danger signals (in checking order) and the guard of one language."""

    signals: tuple[tuple[str, re.Pattern[str]], ...]
    guard: re.Pattern[str] | None


class UrgencyRules:
    """The checked rules: per-language signals and guards, and the two tables that tell a question
    about the rules ("is that legal?") from a call for help."""

    def __init__(self, patterns: Mapping[str, Mapping[str, str]], order: tuple[str, ...],
                 asks_if_allowed: str, now_or_help: str):
        # language -> category or "guard" -> pattern as written: the model's cache key hashes these
        self.patterns = {lang: dict(table) for lang, table in patterns.items()}
        self.order = order
        self.languages = {
            lang: LanguageRules(
                tuple((cat, re.compile(table[cat], _FLAGS)) for cat in order if cat in table),
                re.compile(table[GUARD], _FLAGS) if GUARD in table else None,
            )
            for lang, table in self.patterns.items()
        }
        self._asks_if_allowed = re.compile(asks_if_allowed, re.IGNORECASE)
        self._now_or_help = re.compile(now_or_help, re.IGNORECASE)

    @classmethod
    def load(cls, path: Path | None = None) -> UrgencyRules:
        """Read and check the rules file; every problem is reported at once."""
        path = Path(path) if path is not None else RULES_FILE
        problems: list[str] = []
        data = read_yaml(path, problems)
        if not problems and (not isinstance(data, dict) or set(data) != set(_SECTIONS)):
            problems.append(f"{path}: expected exactly the sections {', '.join(_SECTIONS)} at the top level")
        raise_problems(path.name, problems, TriageError)
        order = _check_order(path, data["order"], problems)
        patterns = _check_languages(path, data["languages"], problems)
        asking = _check_table(f"{path} (asks_if_allowed)", data["asks_if_allowed"], problems)
        now = _check_table(f"{path} (now_or_help)", data["now_or_help"], problems)
        raise_problems(path.name, problems, TriageError)
        return cls(patterns, order, asking, now)

    def match(self, text: str, lang: str | None = None) -> tuple[str, str] | None:
        """(category, rule language) of the first danger signal not switched off by a guard, else None.

        The message's language is tried first, then every other: people switch languages and a short
        message's language guess can be wrong, and an emergency must not be missed for that. A signal
        of language L is switched off by L's guard or by the guard of the message's language.
        """
        normalized = " ".join(text.replace("’", "'").split())
        rules = self.languages
        order = ([lang] if lang in rules else []) + [other for other in rules if other != lang]
        own_guard = rules[lang].guard if lang in rules else None
        guarded_by_own = bool(own_guard and own_guard.search(normalized))
        for rule_lang in order:
            language = rules[rule_lang]
            hit = next((cat for cat, pattern in language.signals if pattern.search(normalized)), None)
            if hit is None:
                continue
            if guarded_by_own or (language.guard is not None and language.guard.search(normalized)):
                continue
            return hit, rule_lang
        return None

    def asks_if_allowed(self, text: str) -> bool:
        """True for a question whether something is allowed, with no sign that the danger is now
        ("they took my passport at a check, is that normal?")."""
        return self._asks_if_allowed.search(text) is not None and not self.now_or_help(text)

    def now_or_help(self, text: str) -> bool:
        """True when the message says the danger is now or calls for help ("abhi", "help me")."""
        return self._now_or_help.search(text) is not None


@cache
def default_rules() -> UrgencyRules:
    """The bundled rules, checked and compiled once, on first use."""
    return UrgencyRules.load()


def match_rules(text: str, lang: str | None = None) -> tuple[str, str] | None:
    """``UrgencyRules.match`` with the bundled rules."""
    return default_rules().match(text, lang)


def _check_order(path: Path, raw: object, problems: list[str]) -> tuple[str, ...]:
    if not isinstance(raw, list) or sorted(map(str, raw)) != sorted(URGENCY_CATEGORIES):
        problems.append(f"{path} (order): list every category once: {', '.join(URGENCY_CATEGORIES)}")
        return ()
    return tuple(map(str, raw))


def _check_languages(path: Path, raw: object, problems: list[str]) -> dict[str, dict[str, str]]:
    if not isinstance(raw, dict) or not raw:
        problems.append(f"{path} (languages): expected one block per language code")
        return {}
    patterns: dict[str, dict[str, str]] = {}
    for lang, block in raw.items():
        where = f"{path} (languages, {lang})"
        if not isinstance(block, dict) or not isinstance(block.get("whole_words"), bool):
            problems.append(f"{where}: expected 'whole_words: true' or 'false', then the categories")
            continue
        before, around = (r"\b(", r")\b") if block["whole_words"] else ("(", ")")
        table: dict[str, str] = {}
        for key, value in block.items():
            if key == "whole_words":
                continue
            if key != GUARD and key not in URGENCY_CATEGORIES:
                known = ", ".join(URGENCY_CATEGORIES)
                problems.append(f"{where}: unknown category {key!r}; use {GUARD} or one of {known}")
            elif isinstance(value, str):
                table[key] = _compiled(f"{where}.{key}", value, problems)
            elif _all_patterns(value):
                table[key] = _compiled(f"{where}.{key}", before + "|".join(value) + around, problems)
            else:
                problems.append(f"{where}.{key}: expected a list of quoted alternatives or one quoted pattern")
        patterns[str(lang)] = table
    return patterns


def _check_table(where: str, raw: object, problems: list[str]) -> str:
    """Per-language lists of complete patterns, joined into one alternation in the file's order."""
    if not isinstance(raw, dict) or not all(_all_patterns(v) for v in raw.values()):
        problems.append(f"{where}: expected per language a list of quoted patterns")
        return ""
    return _compiled(where, "|".join(p for table in raw.values() for p in table), problems)


def _all_patterns(value: object) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(p, str) and p for p in value)


def _compiled(where: str, pattern: str, problems: list[str]) -> str:
    """``pattern`` if it compiles, with the reason recorded if it does not."""
    try:
        re.compile(pattern, _FLAGS)
    except re.error as exc:
        problems.append(f"{where}: not a valid regular expression: {exc}")
    return pattern
