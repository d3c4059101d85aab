"""What binds whom, in the person's language: the one sentence every Convention answer carries,
and the direct answers to "has X ratified?", "how many?", "which countries?".

Rights are what the Convention requires of the States that ratified it, not law everywhere: with
the person's country known, the sentence says whether the Convention binds that country; without
it, how many States it binds, as of when. A general comment is said to be the Committee's
interpretation, never binding law. Articles 76 and 77 (complaints between States, and from
individuals) say whether the country made the declaration (their summaries say that neither
procedure is in force, and where else a complaint can go).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping

from knowledge.answers.phrases import phrases
from knowledge.states.directory import Day, State, StatesDirectory, default_states
from knowledge.states.mentions import fold
from knowledge.vocab import COMMENT_ID, answer_language

DECLARATION_ARTICLES = (76, 77)


def format_day(day: Day | dt.date, lang: str) -> str:
    """A date as the language writes it: "5 June 2007", "5 de junio de 2007", "1er juillet 2003";
    only the month and year, or the year, when that is all that is known."""
    words = phrases(answer_language(lang))
    if isinstance(day, dt.date):
        day = Day(day.year, day.month, day.day)
    if day.month is None:
        return str(day.year)
    month = words["months"].split()[day.month - 1]
    if day.day is None:
        return words["month_year"].format(month=month, year=day.year)
    shown = words.get("first_day", "1") if day.day == 1 else str(day.day)
    return words["date"].format(day=shown, month=month, year=day.year)


# English names said with "the" ("the United Kingdom", "the Philippines").
_ENGLISH_THE = re.compile(r"^(?:United|Philippines|Netherlands|Gambia|Bahamas|Comoros|Maldives|Holy See|State of|Congo"
                          r"|Democratic|Central African|Dominican|Czech|Russian|Syrian|Lao|Marshall|Solomon)"
                          r"|Republic|Kingdom|Islands|Federation|Emirates")


def subject_name(state: State, lang: str) -> str:
    """The name that starts a sentence in ``lang``: English "The United Kingdom", "Oman"."""
    name = state.name(lang)
    return f"The {name}" if lang == "en" and _ENGLISH_THE.search(name) else name


def status_line(state: State | None, lang: str, states: StatesDirectory | None = None) -> str:
    """One sentence: whether the Convention binds ``state``; for no known country, how many it binds."""
    states = states if states is not None else default_states()
    lang = answer_language(lang)
    words = phrases(lang)
    if state is None:
        return words["status_general"].format(count=len(states.parties()), date=format_day(states.as_of, lang))
    name = subject_name(state, lang)
    if state.status == "party" and state.party is not None:
        since = words.get("since_day") if state.party.day is not None else None
        return words["status_party"].format(
            name=name, since=(since or words["since"]).format(date=format_day(state.party, lang)))
    if state.status == "signed" and state.signed is not None:
        return words["status_signed"].format(name=name, date=format_day(state.signed, lang))
    return words["status_none"].format(name=name)


def declaration_lines(article: int, state: State | None, lang: str) -> list[str]:
    """For articles 76 and 77: whether ``state`` made the declaration (the summaries themselves say
    that neither procedure is in force and, for article 77, where else a complaint can go)."""
    if article not in DECLARATION_ARTICLES or state is None or state.status != "party":
        return []  # only a party can make the declaration; the status line says the rest
    made = state.art76 if article == 76 else state.art77
    key = "declaration_unknown" if made is None else "declaration_made" if made else "declaration_not_made"
    return [phrases(answer_language(lang))[key].format(name=subject_name(state, lang), n=article)]


def binding_lines(citation_id: str, state: State | None, lang: str) -> list[str]:
    """What an answer citing ``citation_id`` adds about its force: for a general comment, that it is
    the Committee's interpretation; for articles 76 and 77, the declarations; then the status line."""
    words = phrases(answer_language(lang))
    lines: list[str] = []
    if COMMENT_ID.match(citation_id):
        lines.append(words["comment_note"])
    if citation_id in ("icrmw:art76", "icrmw:art77"):
        lines += declaration_lines(int(citation_id.removeprefix("icrmw:art")), state, lang)
    lines.append(status_line(state, lang))
    return lines


def status_answer(state: State | None, lang: str, states: StatesDirectory | None = None) -> str:
    """"Has X ratified?" / "does it apply in X?": the status line with its source and date; for no
    known country, the count of parties and signatories."""
    states = states if states is not None else default_states()
    if state is None:
        return count_answer(lang, states)
    source = phrases(answer_language(lang))["status_source"].format(date=format_day(states.as_of, lang))
    return f"{status_line(state, lang, states)} {source}"


# Words that ask for the list of States, or their number, rather than one State's status; written
# as the folded text reads them (no accents, Arabic hamza and taa marbuta folded: قائمة -> قايمه).
_COUNT = re.compile(r"\b(?:how many|cuant[oa]s|combien)\b|(?:^|\s)كم\s")
_LIST = re.compile(r"\b(?:which|what countries|list|lista|listado|cuales|que paises|quels?|quelles?|liste)\b"
                   r"|(?:اي|ما هي|ماهي|شو|ايش|وش)\s+(?:ال)?دول|الدول\s+(?:التي|اللي|الي)|قايمه")


def ratification_ask(text: str) -> str:
    """What a question about ratification asks: "count" (how many), "list" (which States), or
    "status" (whether one State is bound)."""
    folded = fold(text)
    if _COUNT.search(folded):
        return "count"
    if _LIST.search(folded):
        return "list"
    return "status"


def count_answer(lang: str, states: StatesDirectory | None = None) -> str:
    """"How many States ratified?": parties and signatories, dated."""
    states = states if states is not None else default_states()
    words = phrases(answer_language(lang))
    return words["parties_count"].format(count=len(states.parties()), date=format_day(states.as_of, lang),
                                         signed=len(states.signatories()))


def list_answer(lang: str, states: StatesDirectory | None = None) -> str:
    """"Which countries ratified?": the count, then the parties by region, then the signatories."""
    states = states if states is not None else default_states()
    lang = answer_language(lang)
    words = phrases(lang)
    by_region: dict[str, list[str]] = {}
    for state in states.parties():
        by_region.setdefault(states.region_name(state.region, lang), []).append(state.name(lang))
    lines = [count_answer(lang, states), "", words["parties_list"].format(date=format_day(states.as_of, lang))]
    sep = words["list_sep"]
    lines += [f"- {region}{_colon(words)}{sep.join(sorted(names, key=_sort_key))}"
              for region, names in sorted(by_region.items(), key=lambda item: _sort_key(item[0]))]
    signed = sorted((s.name(lang) for s in states.signatories()), key=_sort_key)
    if signed:
        lines += ["", f"{words['signed_list']} {sep.join(signed)}"]
    return "\n".join(lines)


def _sort_key(name: str) -> str:
    """Names in the order a reader looks for them: accents and Arabic hamza folded, and the Arabic
    article set aside (الأرجنتين among the alifs, السنغال among the sins)."""
    return re.sub(r"^ال", "", fold(name))


def _colon(words: Mapping[str, str]) -> str:
    return words.get("colon", ": ")
