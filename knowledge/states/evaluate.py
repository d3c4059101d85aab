"""``rights countries eval``: how often the country a message is about, and what it asks, are found.

The set is JSON lines ``{"text", "lang", "country", "ask"}`` (``content/eval/countries.jsonl``):
``country`` the ISO code the message is about, or null; ``ask`` status | list | count (a question
about ratification), statement or question (the country is named in passing). A line counts as
right when the country found is the one expected (null included) and, for a ratification question,
the kind of answer is the one asked for.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from knowledge.settings import CONTENT_DIR
from knowledge.states.lines import ratification_ask
from knowledge.states.mentions import CountryFinder, default_finder

COUNTRY_SET = CONTENT_DIR / "eval" / "countries.jsonl"
ASKS = ("status", "list", "count", "statement", "question")
# A question about ratification that names no country is answered with the count of parties.
_DIRECT = {"status", "list", "count"}


@dataclass(frozen=True)
class Case:
    text: str
    lang: str
    country: str | None
    ask: str | None


@dataclass(frozen=True)
class Result:
    case: Case
    found: str | None
    asked: str | None

    @property
    def right(self) -> bool:
        if self.found != self.case.country:
            return False
        if self.case.ask not in _DIRECT or self.asked == self.case.ask:
            return True
        # with no country named, "has my country ratified?" and "how many?" get the same answer: the count
        return self.found is None and {self.asked, self.case.ask} <= {"status", "count"}


def load_cases(path: Path) -> list[Case]:
    """The set's lines; a line that is not a JSON object with text and lang stops with its number."""
    cases = []
    for number, line in enumerate(Path(path).read_text("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            cases.append(Case(str(row["text"]), str(row["lang"]), row.get("country"), row.get("ask")))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}:{number}: expected a JSON object with text, lang, country ({exc})") from exc
        if cases[-1].ask is not None and cases[-1].ask not in ASKS:
            raise ValueError(f"{path}:{number}: ask must be one of {', '.join(ASKS)}")
    return cases


def evaluate(cases: list[Case], finder: CountryFinder | None = None) -> list[Result]:
    finder = finder if finder is not None else default_finder()
    results = []
    for case in cases:
        state = finder.find(case.text)
        asked = ratification_ask(case.text) if case.ask in _DIRECT else None
        results.append(Result(case, state.iso if state else None, asked))
    return results


def report(results: list[Result]) -> str:
    """A table per language (accuracy, misses), then every miss."""
    right, total = Counter[str](), Counter[str]()
    for r in results:
        total[r.case.lang] += 1
        right[r.case.lang] += r.right
    lines = ["| lang | right | accuracy |", "|---|---|---|"]
    for lang in sorted(total):
        lines.append(f"| {lang} | {right[lang]}/{total[lang]} | {right[lang] / total[lang]:.3f} |")
    n = sum(total.values())
    lines.append(f"| all | {sum(right.values())}/{n} | {sum(right.values()) / max(n, 1):.3f} |")
    misses = [r for r in results if not r.right]
    if misses:
        lines += ["", "Misses (expected -> found):"]
        lines += [f"- [{r.case.lang}] {r.case.country} -> {r.found}"
                  + (f" (asked {r.case.ask}, read {r.asked})" if r.case.ask in _DIRECT else "")
                  + f": {r.case.text}" for r in misses]
    return "\n".join(lines)
