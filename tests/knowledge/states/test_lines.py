"""What binds whom, in each answer language: the status line, general comments, articles 76-77,
and the direct answers; and the answers built with a known country."""

from __future__ import annotations

import pytest

from knowledge.answers import compose
from knowledge.answers.phrases import phrases
from knowledge.corpus.model import Corpus
from knowledge.search.retriever import Retriever
from knowledge.states import (
    binding_lines,
    count_answer,
    default_states,
    list_answer,
    ratification_ask,
    status_answer,
    status_line,
)

LANGS = ("en", "es", "fr", "ar")


def _state(iso: str):
    return default_states().get(iso)


def test_status_lines_in_english() -> None:
    assert status_line(_state("OM"), "en").startswith("Oman has not ratified the Convention, so the Convention "
                                                      "does not bind it.")
    assert status_line(_state("SN"), "en") == ("Senegal is a party to the Convention (since 9 June 1999), "
                                               "so the Convention binds it, subject to any reservations it made.")
    assert status_line(_state("AM"), "en").startswith("Armenia signed the Convention (26 September 2013) but")
    assert status_line(_state("GB"), "en").startswith("The United Kingdom has not ratified")
    assert "60 States" in status_line(None, "en") and "21 February 2025" in status_line(None, "en")


@pytest.mark.parametrize("lang", LANGS)
def test_status_lines_name_the_country_and_date_in_each_language(lang: str) -> None:
    senegal, oman = _state("SN"), _state("OM")
    assert senegal.name(lang) in status_line(senegal, lang)
    assert "1999" in status_line(senegal, lang)
    assert oman.name(lang) in status_line(oman, lang)
    assert status_line(senegal, lang) != status_line(oman, lang)
    assert "{" not in status_line(None, lang)


@pytest.mark.parametrize("lang", LANGS)
def test_a_general_comment_is_the_committees_interpretation(lang: str) -> None:
    lines = binding_lines("cmw-gc5:principle", _state("OM"), lang)
    assert lines[0] == phrases(lang)["comment_note"]
    assert lines[-1] == status_line(_state("OM"), lang)


def test_articles_76_and_77_say_whether_the_country_declared() -> None:
    assert "Senegal has not made the declaration under article 77." in binding_lines("icrmw:art77", _state("SN"), "en")
    mexico = binding_lines("icrmw:art77", _state("MX"), "en")
    assert any("could not confirm" in line for line in mexico)  # reported, not confirmed from two sources
    assert binding_lines("icrmw:art76", None, "en") == [status_line(None, "en")]


def test_the_list_is_sorted_as_people_read_it() -> None:
    """Accented names sort with their letter ("Égypte" among the E's), not after Z."""
    listing = list_answer("fr")
    north_africa = next(line for line in listing.splitlines() if line.startswith("- Afrique du Nord"))
    assert north_africa.index("Égypte") < north_africa.index("Libye") < north_africa.index("Maroc")


@pytest.mark.parametrize("text,ask", [
    ("how many countries ratified it?", "count"), ("¿cuántos países la ratificaron?", "count"),
    ("combien de pays ?", "count"), ("كم دولة صادقت؟", "count"),
    ("which countries ratified?", "list"), ("qué países la firmaron", "list"), ("lista de paises", "list"),
    ("quels pays ont ratifié ?", "list"), ("ما هي الدول التي صادقت على الاتفاقية", "list"),
    ("has Oman ratified?", "status"), ("¿México ratificó?", "status"), ("هل صادقت مصر؟", "status"),
])
def test_what_a_ratification_question_asks(text: str, ask: str) -> None:
    assert ratification_ask(text) == ask


@pytest.mark.parametrize("lang", LANGS)
def test_direct_answers_are_dated_and_sourced(lang: str) -> None:
    assert "60" in count_answer(lang) and "11" in count_answer(lang)
    listing = list_answer(lang)
    assert _state("SN").name(lang) in listing and _state("OM").name(lang) not in listing
    assert _state("AM").name(lang) in listing.split("\n")[-1]  # signed only, listed apart
    assert "2025" in status_answer(_state("OM"), lang)
    assert status_answer(None, lang) == count_answer(lang)


def test_answers_carry_the_status_line(corpus: Corpus) -> None:
    oman = _state("OM")
    article = compose.explain_article(corpus, 21, "en", oman)
    assert status_line(oman, "en") in article.text
    assert status_line(None, "en") in compose.explain_article(corpus, 21, "en").text
    senegal = _state("SN")
    art77 = compose.explain_article(corpus, 77, "fr", senegal).text
    assert "Sénégal\u00a0: ce pays n'a pas fait la déclaration prévue à l'article 77." in art77
    assert status_line(senegal, "fr") in art77
    assert "déclaration" not in compose.explain_article(corpus, 77, "fr", oman).text.split("\n")[-1]  # not a party


def test_a_question_answered_for_a_known_country(retriever: Retriever) -> None:
    answer = compose.answer_question(retriever, "my employer took my passport", "es", state=_state("SA"))
    assert answer.covered and status_line(_state("SA"), "es") in answer.text


def test_a_topic_answer_carries_the_status_line(retriever: Retriever) -> None:
    answer = compose.answer_topic(retriever, "detention", "ar", _state("JO"))
    assert answer is not None and status_line(_state("JO"), "ar") in answer.text
