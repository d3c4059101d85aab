"""Citation labels and fixed phrases (content/data/phrases.yaml): one name per document in every
language, for answers and safety messages alike."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from knowledge.answers.phrases import PHRASES_FILE, Phrases, PhrasesError, default_phrases
from knowledge.answers.phrases import phrases as phrases_of
from knowledge.vocab import COMPLETE_LANGUAGES, GENERAL_COMMENTS


@pytest.fixture(scope="module")
def phrases() -> Phrases:
    return Phrases.load()


def _raw() -> Any:
    return yaml.safe_load(PHRASES_FILE.read_text("utf-8"))


def _load(tmp_path: Path, data: Any) -> Phrases:
    path = tmp_path / "phrases.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    return Phrases.load(path)


def test_every_answer_language_and_every_general_comment(phrases: Phrases) -> None:
    assert set(COMPLETE_LANGUAGES) <= phrases.languages()
    assert set(phrases.comments) == set(GENERAL_COMMENTS)
    assert default_phrases() is default_phrases()


@pytest.mark.parametrize("lang,expected", [
    ("en", "Convention, arts. 16, 17 and 18; CMW General Comment 5 (2021)"),
    ("es", "Convención, arts. 16, 17 y 18; Observación general núm. 5 (2021) del Comité de Trabajadores"
           " Migratorios"),
    ("fr", "Convention, art. 16, 17 et 18\u00a0; Observation générale n° 5 (2021) du Comité des travailleurs migrants"),
    ("ar", "الاتفاقية، المواد 16 و17 و18؛ التعليق العام رقم 5 (2021) للجنة المعنية بالعمال المهاجرين"),
])
def test_articles_together_then_each_comment(phrases: Phrases, lang: str, expected: str) -> None:
    cites = ["icrmw:art16", "icrmw:art17", "icrmw:art18", "cmw-gc5:safeguards"]
    assert phrases.citation_labels(cites, lang) == expected


def test_duals_single_articles_and_other_documents(phrases: Phrases) -> None:
    assert phrases.citation_labels(["icrmw:art22", "icrmw:art23"], "ar") == "الاتفاقية، المادتان 22 و23"
    assert phrases.citation_labels(["icrmw:art22", "icrmw:art23"], "en") == "Convention, arts. 22 and 23"
    assert phrases.citation_labels(["icrmw:art28"], "fr") == "Convention, art. 28"
    # a document is named once, whatever sections of it are cited; one the file does not name goes by its ID
    assert phrases.citation_labels(["icrmw:art21", "icrmw:art21", "local:hotline"], "en") == (
        "Convention, art. 21; local:hotline")


@pytest.mark.parametrize("lang,expected", [
    ("en", "Sustainable Development Goals, target 10.c; Global Compact for Migration (2018); "
           "Committee on Migrant Workers, input to the High-Level Political Forum (2019)"),
    ("ar", "أهداف التنمية المستدامة، الغاية 10-ج؛ الاتفاق العالمي من أجل الهجرة (2018)؛ "
           "اللجنة المعنية بالعمال المهاجرين، مساهمة في المنتدى السياسي الرفيع المستوى (2019)"),
])
def test_the_themes_documents_are_named_not_given_by_id(phrases: Phrases, lang: str, expected: str) -> None:
    """The translation review saw raw IDs ("seed:cmw-hlpf-2019:remittances", "sdg:10.c") in answers,
    and a Latin letter that right-to-left display turns into "c.10"."""
    cited = ["sdg:10.c", "gcm", "seed:cmw-hlpf-2019:remittances"]
    assert phrases.citation_labels(cited, lang) == expected
    assert phrases.citation_labels([], "en") == ""


@pytest.mark.parametrize("lang,expected", [
    ("en", "Joint General Comment CMW 3 / CRC 22 (2017)"),
    ("es", "Observación general conjunta núm. 3 del Comité de Trabajadores Migratorios y núm. 22 del Comité de"
           " los Derechos del Niño (2017)"),
    ("fr", "Observation générale conjointe n° 3 du Comité des travailleurs migrants et n° 22 du Comité des"
           " droits de l'enfant (2017)"),
    ("ar", "التعليق العام المشترك رقم 3 للجنة المعنية بالعمال المهاجرين ورقم 22 للجنة حقوق الطفل (2017)"),
])
def test_joint_comments_name_both_committees(phrases: Phrases, lang: str, expected: str) -> None:
    assert phrases.citation_label("cmw-gc3:heard", lang) == expected
    assert phrases.citation_label("cmw-gc3", lang) == expected


def test_each_comment_is_named_exactly(phrases: Phrases) -> None:
    labels = [phrases.citation_label(doc, "en") for doc in GENERAL_COMMENTS]
    assert labels == ["CMW General Comment 1 (2011)", "CMW General Comment 2 (2013)",
                      "Joint General Comment CMW 3 / CRC 22 (2017)", "Joint General Comment CMW 4 / CRC 23 (2017)",
                      "CMW General Comment 5 (2021)"]
    two = phrases.citation_labels(["cmw-gc3:heard", "cmw-gc4:protection", "cmw-gc4:detention"], "en")
    assert two == "Joint General Comment CMW 3 / CRC 22 (2017); Joint General Comment CMW 4 / CRC 23 (2017)"


def test_a_language_without_phrases_gets_english(phrases: Phrases) -> None:
    assert phrases.words_for("pt") == phrases.words_for("en")
    assert phrases.citation_label("cmw-gc5", "pt") == "CMW General Comment 5 (2021)"


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    data = _raw()
    del data["fr"]["joint_comment"]
    data["es"]["comment"] = "Observación general {numero}"
    del data["general_comments"]["cmw-gc4"]
    data["general_comments"]["cmw-gc3"] = {"year": "2017"}
    with pytest.raises(PhrasesError) as info:
        _load(tmp_path, data)
    message = str(info.value)
    assert "phrases.yaml has 4 problem(s)" in message
    assert "(language 'fr'): missing joint_comment" in message
    assert "(language 'es'): comment may use only {n}, {year}" in message
    assert "cmw-gc4 is missing" in message and "cmw-gc3 needs 'year:'" in message


def test_a_missing_language_and_a_broken_file(tmp_path: Path) -> None:
    data = _raw()
    del data["ar"]
    with pytest.raises(PhrasesError, match="missing language 'ar'"):
        _load(tmp_path, data)
    bad = tmp_path / "broken.yaml"
    bad.write_text("en: [unclosed\n", "utf-8")
    with pytest.raises(PhrasesError, match="not valid YAML"):
        Phrases.load(bad)


@pytest.mark.parametrize("lang,expected", [
    ("en", "Part III"), ("es", "Parte III"), ("fr", "Partie III"), ("ar", "الجزء الثالث"),
])
def test_parts_are_named_as_the_language_names_them(lang: str, expected: str) -> None:
    from knowledge.answers.phrases import part_label

    assert part_label("III", phrases_of(lang)) == expected


def test_see_also_punctuation_is_the_languages() -> None:
    assert phrases_of("fr")["see_also"].format(refs="x") == "Voir aussi\u00a0: x"
    assert phrases_of("ar")["see_also"].format(refs="x") == "انظر أيضًا: x"
