from __future__ import annotations

import builtins
import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from knowledge import safety
from knowledge.corpus import Corpus
from knowledge.paths import DATA_DIR
from knowledge.safety import (
    CATEGORIES,
    LANGUAGES,
    Hotline,
    HotlineDirectory,
    SafetyError,
    SafetyGuide,
    safety_message,
)

CONSENT = {"en": "if you wish", "es": "si lo desea", "fr": "si vous le souhaitez", "ar": "إذا رغبت"}
# Ranges reserved for fiction: Ofcom's 07700 900000-900999, and NANP's NXX-555-0100..0199.
FICTIONAL_NUMBER = re.compile(r"\+44 7700 900\d{3}|\+1 \d{3} 555 01\d{2}")


@pytest.fixture(scope="module")
def guide(corpus: Corpus) -> SafetyGuide:
    return SafetyGuide.load(corpus=corpus)


@pytest.fixture(scope="module")
def directory() -> HotlineDirectory:
    return HotlineDirectory.load()


def _raw(name: str) -> Any:
    return yaml.safe_load((DATA_DIR / name).read_text("utf-8"))


def _write(tmp_path: Path, name: str, data: Any) -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    return path


def _line(organisation: str, **kw: Any) -> Hotline:
    kw.setdefault("countries", ("GB",))
    kw.setdefault("languages", ("en",))
    kw.setdefault("phone", "+44 7700 900000")
    return Hotline(organisation=organisation, **kw)


EMERGENCY = _line("Emergency", countries=("*",), languages=("*",), phone="112", emergency=True)


def _names(hotlines: list[Hotline]) -> list[str]:
    return [h.organisation for h in hotlines]


# --- the shipped files -------------------------------------------------------------------------


def test_shipped_files_validate(guide: SafetyGuide, directory: HotlineDirectory) -> None:
    assert set(guide.situations) == set(CATEGORIES)
    assert directory.entries and directory.has_examples


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("category", CATEGORIES)
def test_every_category_in_every_language(
    guide: SafetyGuide, directory: HotlineDirectory, category: str, lang: str
) -> None:
    message = safety_message(category, lang, "GB", directory=directory, guide=guide)
    content = guide.situations[category].texts[lang]
    assert (message.category, message.lang) == (category, lang)
    assert message.text.startswith(content.heading + "\n1. ")
    assert safety.MIN_STEPS <= len(content.steps) <= safety.MAX_STEPS
    assert all(step in message.text for step in content.steps)
    assert content.rights in message.text
    assert guide.labels[lang]["binds"] in message.text
    assert message.citations == list(guide.situations[category].citations)
    assert message.hotlines[-1].emergency


def test_every_citation_is_in_the_corpus_and_protects_everyone(guide: SafetyGuide, corpus: Corpus) -> None:
    for situation in guide.situations.values():
        assert situation.citations, situation.category
        for cid in situation.citations:
            assert cid in corpus.metas, f"{situation.category}: {cid}"
            if cid.startswith("icrmw:"):
                # safety information goes to everyone: only Part III, which protects every migrant
                assert (corpus.metas[cid].part, corpus.metas[cid].protects) == ("III", "all"), cid


@pytest.mark.parametrize("category,expected", [
    ("detention", {"icrmw:art16", "icrmw:art17", "icrmw:art18"}),
    ("documents", {"icrmw:art21"}),
    ("locked_in", {"icrmw:art11", "icrmw:art16", "icrmw:art21"}),
    ("trafficking", {"icrmw:art11", "icrmw:art16", "icrmw:art21"}),
    ("violence", {"icrmw:art10", "icrmw:art16"}),
    ("medical", {"icrmw:art28"}),
    ("deportation", {"icrmw:art22", "icrmw:art23"}),
    ("self_harm", {"icrmw:art28"}),
])
def test_the_articles_that_apply(guide: SafetyGuide, category: str, expected: set[str]) -> None:
    cited = {c for c in guide.situations[category].citations if c.startswith("icrmw:")}
    assert cited == expected


def test_consular_contact_is_always_optional(guide: SafetyGuide) -> None:
    words = {"en": ("consul", "embass"), "es": ("consul", "embajada"), "fr": ("consul", "ambassade"),
             "ar": ("قنصلية", "سفار")}
    seen = 0
    for situation in guide.situations.values():
        for lang, text in situation.texts.items():
            for step in text.steps:
                if any(w in step.lower() for w in words[lang]):
                    seen += 1
                    assert CONSENT[lang] in step.lower(), f"{situation.category}/{lang}: {step}"
    assert seen >= 8  # detention and deportation, in four languages


def test_status_is_only_mentioned_to_say_the_right_applies_anyway(guide: SafetyGuide) -> None:
    for situation in guide.situations.values():
        text = situation.texts["en"]
        for sentence in [text.heading, *text.steps, text.rights]:
            lowered = sentence.lower()
            assert lowered.count("status") == lowered.count("whatever your status"), sentence
            assert not any(w in lowered for w in ("undocumented", "irregular", "papers", "visa")), sentence


def test_labels_agree_with_the_answer_phrases(guide: SafetyGuide) -> None:
    phrases = _raw("phrases.yaml")
    for lang in LANGUAGES:
        assert guide.labels[lang]["article"] == phrases[lang]["article"]
        assert guide.labels[lang]["binds"] == phrases[lang]["binds"]


def test_emergency_entry_names_real_numbers_in_every_language(directory: HotlineDirectory) -> None:
    entry = next(e for e in directory.entries if e.emergency and e.countries == ("*",))
    for lang in LANGUAGES:
        phone = entry.in_language(lang).phone
        assert all(n in phone for n in ("112", "911", "999", "000")), lang
    assert not entry.example


def test_example_entries_use_fictional_numbers_only(directory: HotlineDirectory) -> None:
    for entry in directory.entries:
        if entry.emergency:
            continue
        assert entry.example, f"{entry.organisation}: the shipped directory holds no real NGO line"
        assert entry.organisation.startswith("EXAMPLE")
        for number in filter(None, [entry.phone, entry.whatsapp]):
            assert FICTIONAL_NUMBER.fullmatch(number), number


def test_citation_labels(guide: SafetyGuide) -> None:
    cites = ["icrmw:art16", "icrmw:art17", "icrmw:art18", "cmw-gc5:safeguards"]
    assert safety.citation_labels(cites, guide.labels["en"]) == "Convention, arts. 16, 17 and 18; CMW General Comment 5"
    assert safety.citation_labels(["icrmw:art22", "icrmw:art23"], guide.labels["ar"]) == "الاتفاقية، المادتان 22 و23"
    assert safety.citation_labels(["icrmw:art28"], guide.labels["fr"]) == "Convention, art. 28"
    two_comments = ["cmw-gc3:heard", "cmw-gc4:protection", "cmw-gc4:detention"]
    assert safety.citation_labels(two_comments, guide.labels["en"]) == "CMW General Comments 3 and 4"


# --- safety.yaml validation ---------------------------------------------------------------------


def _guide_error(tmp_path: Path, corpus: Corpus, data: Any) -> str:
    path = _write(tmp_path, "safety.yaml", data)
    with pytest.raises(SafetyError) as info:
        SafetyGuide.load(path, corpus=corpus)
    message = str(info.value)
    assert "safety.yaml" in message
    return message


def test_unknown_category(tmp_path: Path, corpus: Corpus) -> None:
    data = _raw("safety.yaml")
    data["categories"]["fire"] = copy.deepcopy(data["categories"]["urgent"])
    assert "category 'fire'): unknown category" in _guide_error(tmp_path, corpus, data)


def test_missing_category(tmp_path: Path, corpus: Corpus) -> None:
    data = _raw("safety.yaml")
    del data["categories"]["medical"]
    assert "category 'medical' is missing" in _guide_error(tmp_path, corpus, data)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_missing_language(tmp_path: Path, corpus: Corpus, lang: str) -> None:
    data = _raw("safety.yaml")
    del data["categories"]["detention"][lang]
    assert f"category 'detention'): missing language '{lang}'" in _guide_error(tmp_path, corpus, data)


@pytest.mark.parametrize("steps,expected", [
    ([], "no steps"),
    (None, "no steps"),
    (["Call now.", "", "Stay safe."], "empty step"),
    (["One.", "Two."], "2 steps; keep 3 to 5"),
    ([f"Step {i}." for i in range(6)], "6 steps; keep 3 to 5"),
    (["x" * 250, "Two.", "Three."], "step 1 has 250 characters"),
])
def test_bad_steps(tmp_path: Path, corpus: Corpus, steps: Any, expected: str) -> None:
    data = _raw("safety.yaml")
    data["categories"]["violence"]["fr"]["steps"] = steps
    message = _guide_error(tmp_path, corpus, data)
    assert "category 'violence', language 'fr'" in message and expected in message


def test_empty_heading_and_rights(tmp_path: Path, corpus: Corpus) -> None:
    data = _raw("safety.yaml")
    data["categories"]["medical"]["es"]["heading"] = " "
    del data["categories"]["medical"]["es"]["rights"]
    message = _guide_error(tmp_path, corpus, data)
    assert "empty heading" in message and "empty 'rights' sentence" in message


@pytest.mark.parametrize("cid", ["icrmw:art94", "icrmw:art16(2)", "cmw-gc9", "cmw-gc5:nowhere", "local:nope"])
def test_citation_not_in_corpus(tmp_path: Path, corpus: Corpus, cid: str) -> None:
    data = _raw("safety.yaml")
    data["categories"]["documents"]["citations"].append(cid)
    message = _guide_error(tmp_path, corpus, data)
    assert f"category 'documents'): citation {cid!r} is not in the corpus" in message


def test_a_whole_general_comment_may_be_cited(tmp_path: Path, corpus: Corpus) -> None:
    data = _raw("safety.yaml")
    data["categories"]["detention"]["citations"] = ["icrmw:art16", "cmw-gc5"]
    guide = SafetyGuide.load(_write(tmp_path, "safety.yaml", data), corpus=corpus)
    assert guide.situations["detention"].citations == ("icrmw:art16", "cmw-gc5")


def test_missing_label(tmp_path: Path, corpus: Corpus) -> None:
    data = _raw("safety.yaml")
    del data["labels"]["ar"]["example"]
    assert "(labels, language 'ar'): missing example" in _guide_error(tmp_path, corpus, data)


def test_every_problem_is_reported_at_once(tmp_path: Path, corpus: Corpus) -> None:
    data = _raw("safety.yaml")
    data["categories"]["detention"]["es"]["steps"] = []
    data["categories"]["medical"]["citations"] = ["icrmw:art999"]
    message = _guide_error(tmp_path, corpus, data)
    assert "2 problem(s)" in message and "'detention'" in message and "'medical'" in message


def test_invalid_yaml_and_missing_file(tmp_path: Path, corpus: Corpus) -> None:
    bad = tmp_path / "safety.yaml"
    bad.write_text("labels: [unclosed\n", "utf-8")
    with pytest.raises(SafetyError, match="not valid YAML"):
        SafetyGuide.load(bad, corpus=corpus)
    with pytest.raises(SafetyError, match="file not found"):
        SafetyGuide.load(tmp_path / "absent.yaml", corpus=corpus)


# --- hotlines.yaml validation -------------------------------------------------------------------


def _directory_error(tmp_path: Path, data: Any) -> str:
    path = _write(tmp_path, "hotlines.yaml", data)
    with pytest.raises(SafetyError) as info:
        HotlineDirectory.load(path)
    message = str(info.value)
    assert "hotlines.yaml" in message
    return message


def _with_entry(**fields: Any) -> list[dict[str, Any]]:
    entry = {"organisation": "Test Line", "countries": ["FR"], "languages": ["fr"], "phone": "+33 1 00 00 00 00"}
    entry.update(fields)
    return [*_raw("hotlines.yaml"), {k: v for k, v in entry.items() if v is not None}]


@pytest.mark.parametrize("fields,expected", [
    ({"countries": ["UK"]}, "'UK' is not an ISO 3166-1 alpha-2 country code (use GB)"),
    ({"countries": ["XX", "FR"]}, "'XX' is not an ISO 3166-1 alpha-2 country code"),
    ({"countries": ["FRA"]}, "'FRA' is not an ISO 3166-1 alpha-2 country code"),
    ({"countries": []}, "'countries' must be a non-empty list"),
    ({"languages": ["French"]}, "'French' is not an ISO 639-1 language code"),
    ({"phone": None}, "no 'phone' and no 'whatsapp'"),
    ({"phone": "", "whatsapp": ""}, "no 'phone' and no 'whatsapp'"),
    ({"whatsapp": "ask at reception"}, "is not a phone number"),
    ({"categories": ["fire"]}, "unknown category 'fire'"),
    ({"catagories": ["medical"]}, "unknown field(s) catagories"),
    ({"example": "yes"}, "'example' must be true or false"),
    ({"organisation": ""}, "missing 'organisation'"),
    ({"translations": {"es": {"adress": "x"}}}, "unknown field(s) adress"),
])
def test_bad_hotline_entry(tmp_path: Path, fields: dict[str, Any], expected: str) -> None:
    data = _with_entry(**fields)
    message = _directory_error(tmp_path, data)
    assert f"(entry #{len(data)}" in message and expected in message


def test_an_entry_is_named_in_its_error(tmp_path: Path) -> None:
    assert "(entry #7, 'Test Line'): " in _directory_error(tmp_path, _with_entry(countries=["ZZ"]))


def test_lower_case_country_codes_are_accepted(tmp_path: Path) -> None:
    directory = HotlineDirectory.load(_write(tmp_path, "hotlines.yaml", _with_entry(countries=["fr"])))
    assert directory.entries[-1].countries == ("FR",)


def test_directory_needs_the_emergency_entry(tmp_path: Path) -> None:
    data = [e for e in _raw("hotlines.yaml") if not e.get("emergency")]
    assert "no emergency-services entry" in _directory_error(tmp_path, data)


def test_directory_must_be_a_list(tmp_path: Path) -> None:
    assert "expected a list of entries" in _directory_error(tmp_path, {"organisation": "x"})


def test_every_bad_entry_is_reported(tmp_path: Path) -> None:
    data = [*_with_entry(countries=["UK"]), {"organisation": "Second", "countries": ["*"], "languages": ["en"]}]
    message = _directory_error(tmp_path, data)
    assert "'Test Line'" in message and "'Second'): no 'phone'" in message and "2 problem(s)" in message


# --- choosing hotlines --------------------------------------------------------------------------


def test_lines_for_the_country_or_anywhere() -> None:
    directory = HotlineDirectory([
        _line("GB line"), _line("FR line", countries=("FR",)), _line("Anywhere", countries=("*",)), EMERGENCY,
    ])
    assert _names(directory.choose("violence", "en", "FR")) == ["FR line", "Anywhere", "Emergency"]
    assert _names(directory.choose("violence", "en", None)) == ["Anywhere", "Emergency"]
    assert _names(directory.choose("violence", "en", "DE")) == ["Anywhere", "Emergency"]


def test_lines_speaking_the_language_come_first() -> None:
    directory = HotlineDirectory([_line("English"), _line("Spanish", languages=("es", "en")), EMERGENCY])
    assert _names(directory.choose("medical", "es", "GB")) == ["Spanish", "English", "Emergency"]
    assert _names(directory.choose("medical", "en", "GB")) == ["English", "Spanish", "Emergency"]


def test_lines_must_handle_the_category_and_specialists_come_first() -> None:
    directory = HotlineDirectory([
        _line("General"), _line("Medical only", categories=("medical",)),
        _line("Detention", categories=("detention", "deportation")), EMERGENCY,
    ])
    assert _names(directory.choose("detention", "en", "GB")) == ["Detention", "General", "Emergency"]
    assert _names(directory.choose("medical", "en", "GB")) == ["Medical only", "General", "Emergency"]
    # an emergency of unknown kind may be heard by any line, general ones first
    assert _names(directory.choose("urgent", "en", "GB")) == ["General", "Medical only", "Detention", "Emergency"]


def test_language_outranks_specialism_and_country_outranks_anywhere() -> None:
    directory = HotlineDirectory([
        _line("Specialist in English", categories=("trafficking",)),
        _line("Anywhere in Arabic", countries=("*",), languages=("ar",)),
        _line("GB in Arabic", languages=("ar",)),
        EMERGENCY,
    ])
    assert _names(directory.choose("trafficking", "ar", "GB")) == [
        "GB in Arabic", "Anywhere in Arabic", "Specialist in English", "Emergency"]


def test_at_most_three_lines_then_the_emergency_services() -> None:
    directory = HotlineDirectory([EMERGENCY, *(_line(f"Line {i}") for i in range(5))])
    assert _names(directory.choose("violence", "en", "GB")) == ["Line 0", "Line 1", "Line 2", "Emergency"]


def test_examples_only_when_no_real_line_fits() -> None:
    directory = HotlineDirectory([
        _line("Example GB", example=True), _line("Real FR", countries=("FR",)),
        _line("Real GB medical", categories=("medical",)), EMERGENCY,
    ])
    assert _names(directory.choose("medical", "en", "GB")) == ["Real GB medical", "Emergency"]
    assert _names(directory.choose("violence", "en", "GB")) == ["Example GB", "Emergency"]
    assert _names(directory.choose("violence", "en", "FR")) == ["Real FR", "Emergency"]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_example_entries_are_labelled(guide: SafetyGuide, lang: str) -> None:
    directory = HotlineDirectory([_line("Example GB", example=True), _line("Real GB"), EMERGENCY])
    label = guide.labels[lang]["example"]
    real = safety_message("violence", lang, "GB", directory=directory, guide=guide)
    assert label not in real.text and "Example GB" not in real.text
    directory = HotlineDirectory([_line("Example GB", example=True), EMERGENCY])
    shown = safety_message("violence", lang, "GB", directory=directory, guide=guide)
    example_line = next(line for line in shown.text.splitlines() if "Example GB" in line)
    assert example_line.endswith(label)


def test_shipped_examples_are_labelled(guide: SafetyGuide, directory: HotlineDirectory) -> None:
    message = safety_message("detention", "en", "US", directory=directory, guide=guide)
    line = next(line for line in message.text.splitlines() if "+1 202 555 0142" in line)
    assert line.endswith("(example entry — your organisation must replace it)")


def test_the_emergency_services_are_always_last() -> None:
    local = _line("Spain 112", countries=("ES",), languages=("*",), phone="112", emergency=True)
    directory = HotlineDirectory([EMERGENCY, _line("Anywhere", countries=("*",)), local])
    assert _names(directory.choose("medical", "en", "ES")) == ["Anywhere", "Spain 112"]
    assert _names(directory.choose("medical", "en", "GB")) == ["Anywhere", "Emergency"]
    assert _names(directory.choose("medical", "en", None)) == ["Anywhere", "Emergency"]


def test_country_codes_are_normalised(guide: SafetyGuide) -> None:
    directory = HotlineDirectory([_line("GB line"), EMERGENCY])
    for country in ("gb", " GB ", "uk"):
        assert "GB line" in _names(safety_message("violence", "en", country, directory, guide).hotlines)
    assert _names(safety_message("violence", "en", "Narnia", directory, guide).hotlines) == ["Emergency"]


def test_hotline_is_shown_in_the_message_language(guide: SafetyGuide, directory: HotlineDirectory) -> None:
    message = safety_message("medical", "fr", None, directory=directory, guide=guide)
    assert message.hotlines[-1].organisation == "Services d'urgence locaux"
    line = next(line for line in message.text.splitlines() if line.startswith("- Services d'urgence locaux"))
    assert line.startswith("- Services d'urgence locaux : le numéro d'urgence local (par exemple 112")


# --- languages and categories the content does not have ---------------------------------------


@pytest.mark.parametrize("asked", ["pt", "sw", "", None, "xx-YY"])
def test_other_languages_fall_back_to_english(guide: SafetyGuide, directory: HotlineDirectory, asked: Any) -> None:
    message = safety_message("documents", asked, "GB", directory=directory, guide=guide)
    assert message.lang == "en"
    assert message.text.startswith(guide.situations["documents"].texts["en"].heading)


@pytest.mark.parametrize("asked,lang", [("es-MX", "es"), ("fr_CA", "fr"), ("AR", "ar"), ("EN", "en")])
def test_regional_language_tags(guide: SafetyGuide, directory: HotlineDirectory, asked: str, lang: str) -> None:
    assert safety_message("medical", asked, directory=directory, guide=guide).lang == lang


def test_fallback_text_still_prefers_lines_in_the_persons_language(guide: SafetyGuide) -> None:
    directory = HotlineDirectory([_line("English"), _line("Portuguese", languages=("pt",)), EMERGENCY])
    message = safety_message("violence", "pt", "GB", directory=directory, guide=guide)
    assert message.lang == "en" and _names(message.hotlines) == ["Portuguese", "English", "Emergency"]


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
