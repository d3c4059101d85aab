"""The safety message: every category in every language, citations named as in answers, hotlines
in the person's language, fallbacks that never fail, and no file access while someone waits."""

from __future__ import annotations

import builtins
from pathlib import Path
from typing import Any

import pytest

from knowledge.answers import compose
from knowledge.answers.phrases import phrases
from knowledge.safety import CATEGORIES, LANGUAGES, HotlineDirectory, SafetyGuide, safety_message
from knowledge.states import default_states, status_line
from tests.knowledge.safety.helpers import EMERGENCY, line, names


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("category", CATEGORIES)
def test_every_category_in_every_language(
    guide: SafetyGuide, directory: HotlineDirectory, category: str, lang: str
) -> None:
    message = safety_message(category, lang, "GB", directory=directory, guide=guide)
    content = guide.situations[category].texts[lang]
    assert (message.category, message.lang) == (category, lang)
    assert message.text.startswith(content.heading + "\n1. ")
    assert all(step in message.text for step in content.steps)
    assert content.rights in message.text
    # what binds the person's country; steps resting only on general comments say what those are
    cites_articles = any(c.startswith("icrmw:") for c in guide.situations[category].citations)
    force = status_line(default_states().get("GB"), lang) if cites_articles else phrases(lang)["comment_note"]
    assert force in message.text
    assert message.citations == list(guide.situations[category].citations)
    assert message.hotlines[-1].emergency


@pytest.mark.parametrize("lang,category,expected", [
    ("en", "detention", "(Convention, arts. 16, 17 and 18; CMW General Comment 5 (2021))"),
    ("ar", "deportation", "(الاتفاقية، المادتان 22 و23)"),
    ("fr", "medical", "(Convention, art. 28)"),
    ("en", "child_alone", "(Joint General Comment CMW 3 / CRC 22 (2017); Joint General Comment CMW 4 / CRC 23 (2017))"),
    ("es", "detention", "(Convención, arts. 16, 17 y 18; Observación general núm. 5 (2021) del Comité de"
                        " Trabajadores Migratorios)"),
])
def test_citations_are_named_as_in_answers(
    guide: SafetyGuide, directory: HotlineDirectory, lang: str, category: str, expected: str
) -> None:
    message = safety_message(category, lang, "GB", directory=directory, guide=guide)
    assert expected in message.text.splitlines()[-1]
    # one name for one document: the label an answer gives each cited comment appears as is
    for cid in message.citations:
        if cid.startswith("cmw-"):
            assert compose.citation_label(cid, lang) in message.text


@pytest.mark.parametrize("lang", LANGUAGES)
def test_example_entries_are_labelled(guide: SafetyGuide, lang: str) -> None:
    directory = HotlineDirectory([line("Example GB", example=True), line("Real GB"), EMERGENCY])
    label = guide.labels[lang]["example"]
    real = safety_message("violence", lang, "GB", directory=directory, guide=guide)
    assert label not in real.text and "Example GB" not in real.text
    directory = HotlineDirectory([line("Example GB", example=True), EMERGENCY])
    shown = safety_message("violence", lang, "GB", directory=directory, guide=guide)
    example_line = next(text for text in shown.text.splitlines() if "Example GB" in text)
    assert example_line.endswith(label)


def test_shipped_examples_are_labelled(guide: SafetyGuide, directory: HotlineDirectory) -> None:
    message = safety_message("detention", "en", "US", directory=directory, guide=guide)
    shown = next(text for text in message.text.splitlines() if "+1 202 555 0142" in text)
    assert shown.endswith("(example entry — your organisation must replace it)")


def test_a_hotline_line_lists_its_ways_in_and_languages(guide: SafetyGuide) -> None:
    directory = HotlineDirectory([
        line("Line", whatsapp="+44 7700 900001", hours="24/7", languages=("en", "es"), note="Free"), EMERGENCY,
    ])
    text = safety_message("violence", "en", "GB", directory=directory, guide=guide).text
    assert "- Line: +44 7700 900000; WhatsApp +44 7700 900001; 24/7; languages: English, Spanish. Free" in (
        text.splitlines())
    spanish = safety_message("violence", "es", "GB", directory=directory, guide=guide).text
    assert "idiomas: inglés, español" in spanish


def test_numbers_read_in_dialling_order_in_arabic(guide: SafetyGuide) -> None:
    """Rendered with the Unicode bidi algorithm (python-bidi), as a phone lays out the line: the
    digits a person sees, left to right, are the digits to dial."""
    from bidi import get_display

    directory = HotlineDirectory([
        line("خط العمال", whatsapp="+44 7700 900001", hours="9:00-17:00", languages=("ar", "en")), EMERGENCY,
    ])
    text = safety_message("violence", "ar", "GB", directory=directory, guide=guide).text
    shown = next(get_display(row) for row in text.splitlines() if "900001" in row)
    for number in ("+44 7700 900000", "+44 7700 900001", "9:00-17:00"):
        assert number in shown
    assert "الإنجليزية" in text and ", en" not in text
    # the same line without the isolates is shown reversed: the check above can fail
    bare = next(row for row in text.splitlines() if "900001" in row).replace("\u2066", "").replace("\u2069", "")
    assert "+44 7700 900001" not in get_display(bare)


def test_country_codes_are_normalised(guide: SafetyGuide) -> None:
    directory = HotlineDirectory([line("GB line"), EMERGENCY])
    for country in ("gb", " GB ", "uk"):
        assert "GB line" in names(safety_message("violence", "en", country, directory, guide).hotlines)
    assert names(safety_message("violence", "en", "Narnia", directory, guide).hotlines) == ["Emergency"]


def test_hotline_is_shown_in_the_message_language(guide: SafetyGuide, directory: HotlineDirectory) -> None:
    message = safety_message("medical", "fr", None, directory=directory, guide=guide)
    assert message.hotlines[-1].organisation == "Services d'urgence locaux"
    shown = next(text for text in message.text.splitlines() if text.startswith("- Services d'urgence locaux"))
    assert shown.startswith("- Services d'urgence locaux\u00a0: le numéro d'urgence local (par exemple 112")


# --- languages and categories the content does not have ---------------------------------------


@pytest.mark.parametrize("asked", ["pt", "sw", "", None, "xx-YY"])
def test_other_languages_fall_back_to_english(guide: SafetyGuide, directory: HotlineDirectory, asked: Any) -> None:
    message = safety_message("documents", asked, "GB", directory=directory, guide=guide)
    assert message.lang == "en"
    heading = guide.situations["documents"].texts["en"].heading
    if asked in ("pt", "sw"):  # a language we recognise: the text says why it is in English
        name = {"pt": "Portuguese", "sw": "Swahili"}[asked]
        assert message.text.startswith(f"(We cannot write this in {name} yet, so here it is in English.)\n{heading}")
    else:
        assert message.text.startswith(heading)


@pytest.mark.parametrize("asked,lang", [("es-MX", "es"), ("fr_CA", "fr"), ("AR", "ar"), ("EN", "en")])
def test_regional_language_tags(guide: SafetyGuide, directory: HotlineDirectory, asked: str, lang: str) -> None:
    assert safety_message("medical", asked, directory=directory, guide=guide).lang == lang


def test_fallback_text_still_prefers_lines_in_the_persons_language(guide: SafetyGuide) -> None:
    directory = HotlineDirectory([line("English"), line("Portuguese", languages=("pt",)), EMERGENCY])
    message = safety_message("violence", "pt", "GB", directory=directory, guide=guide)
    assert message.lang == "en" and names(message.hotlines) == ["Portuguese", "English", "Emergency"]


def test_unknown_category_gets_the_general_urgent_message(guide: SafetyGuide, directory: HotlineDirectory) -> None:
    message = safety_message("earthquake", "ar", directory=directory, guide=guide)
    assert message.category == "urgent"
    assert message.text.startswith(guide.situations["urgent"].texts["ar"].heading)
    assert message.citations == ["icrmw:art16", "icrmw:art28"]


def test_message_is_frozen(guide: SafetyGuide, directory: HotlineDirectory) -> None:
    message = safety_message("medical", "en", directory=directory, guide=guide)
    with pytest.raises(AttributeError):
        message.text = "changed"  # type: ignore[misc]


def test_no_file_access_after_loading(
    guide: SafetyGuide, directory: HotlineDirectory, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("safety_message touched a file")

    monkeypatch.setattr(builtins, "open", refuse)
    monkeypatch.setattr(Path, "read_text", refuse)
    for category in CATEGORIES:
        assert safety_message(category, "fr", "GB", directory=directory, guide=guide).text
