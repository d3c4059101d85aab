"""The hotline directory (content/data/hotlines.yaml): the shipped entries, validation with every
problem named, and the choice of lines for one person."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from knowledge.safety import ISO_COUNTRIES, LANGUAGES, HotlineDirectory, SafetyError, normalise_country
from knowledge.vocab import COMPLETE_LANGUAGES
from tests.knowledge.safety.helpers import EMERGENCY, line, names, raw, write

# Ranges reserved for fiction: Ofcom's 07700 900000-900999, and NANP's NXX-555-0100..0199.
FICTIONAL_NUMBER = re.compile(r"\+44 7700 900\d{3}|\+1 \d{3} 555 01\d{2}")


# --- the shipped directory ----------------------------------------------------------------------


def test_shipped_directory_validates_and_still_holds_examples(directory: HotlineDirectory) -> None:
    assert directory.entries and directory.has_examples
    real = HotlineDirectory([e for e in directory.entries if not e.example])
    assert not real.has_examples


def test_emergency_entry_names_real_numbers_in_every_language(directory: HotlineDirectory) -> None:
    entry = next(e for e in directory.entries if e.emergency and e.countries == ("*",))
    for lang in LANGUAGES:
        phone = entry.in_language(lang).phone
        assert all(n in phone for n in ("112", "911", "999", "000")), lang
    assert not entry.example


def test_lines_for_everyone_give_their_hours_in_every_complete_language(directory: HotlineDirectory) -> None:
    """A line every person is shown (countries: '*') must not put English hours into an Indonesian
    answer ("Every day 10:00-22:00 (UTC)" did)."""
    for entry in directory.entries:
        if entry.countries != ("*",) or not entry.hours:
            continue
        for lang in COMPLETE_LANGUAGES:
            if lang != "en":
                assert entry.in_language(lang).hours != entry.hours, (entry.organisation, lang)


def test_example_entries_use_fictional_numbers_only(directory: HotlineDirectory) -> None:
    for entry in directory.entries:
        if entry.emergency:
            continue
        assert entry.example, f"{entry.organisation}: the shipped directory holds no real NGO line"
        assert entry.organisation.startswith("EXAMPLE")
        for number in filter(None, [entry.phone, entry.whatsapp]):
            assert FICTIONAL_NUMBER.fullmatch(number), number


def test_an_entry_in_another_language_keeps_what_is_not_translated(directory: HotlineDirectory) -> None:
    entry = next(e for e in directory.entries if e.emergency and e.countries == ("*",))
    french = entry.in_language("fr")
    assert french.organisation == "Services d'urgence locaux" and french.countries == entry.countries
    assert entry.in_language("sw") == entry


# --- validation ---------------------------------------------------------------------------------


def _directory_error(tmp_path: Path, data: Any) -> str:
    path = write(tmp_path, "hotlines.yaml", data)
    with pytest.raises(SafetyError) as info:
        HotlineDirectory.load(path)
    message = str(info.value)
    assert "hotlines.yaml" in message
    return message


def _with_entry(**fields: Any) -> list[dict[str, Any]]:
    entry = {"organisation": "Test Line", "countries": ["FR"], "languages": ["fr"], "phone": "+33 1 00 00 00 00"}
    entry.update(fields)
    return [*raw("hotlines.yaml"), {k: v for k, v in entry.items() if v is not None}]


@pytest.mark.parametrize("fields,expected", [
    ({"countries": ["UK"]}, "'UK' is not an ISO 3166-1 alpha-2 country code (use GB)"),
    ({"countries": ["XX", "FR"]}, "'XX' is not an ISO 3166-1 alpha-2 country code"),
    ({"countries": ["FRA"]}, "'FRA' is not an ISO 3166-1 alpha-2 country code"),
    ({"countries": []}, "'countries' must be a non-empty list"),
    ({"languages": ["French"]}, "'French' is not an ISO 639-1 language code"),
    ({"languages": None}, "'languages' must be a non-empty list"),
    ({"phone": None}, "no 'phone' and no 'whatsapp'"),
    ({"phone": "", "whatsapp": ""}, "no 'phone' and no 'whatsapp'"),
    ({"whatsapp": "ask at reception"}, "is not a phone number"),
    ({"categories": ["fire"]}, "unknown category 'fire'"),
    ({"categories": "medical"}, "'categories' must be a list"),
    ({"catagories": ["medical"]}, "unknown field(s) catagories"),
    ({"example": "yes"}, "'example' must be true or false"),
    ({"example": True, "emergency": True}, "the emergency-services entry cannot be an example"),
    ({"organisation": ""}, "missing 'organisation'"),
    ({"translations": {"es": {"adress": "x"}}}, "unknown field(s) adress"),
    ({"translations": ["es"]}, "'translations' must map a language code"),
    ({"translations": {"Spanish": {"hours": "x"}}}, "translations for 'Spanish' must be a language code"),
])
def test_bad_hotline_entry(tmp_path: Path, fields: dict[str, Any], expected: str) -> None:
    data = _with_entry(**fields)
    message = _directory_error(tmp_path, data)
    assert f"(entry #{len(data)}" in message and expected in message


def test_an_entry_is_named_in_its_error(tmp_path: Path) -> None:
    assert "(entry #7, 'Test Line'): " in _directory_error(tmp_path, _with_entry(countries=["ZZ"]))


def test_lower_case_country_codes_are_accepted(tmp_path: Path) -> None:
    directory = HotlineDirectory.load(write(tmp_path, "hotlines.yaml", _with_entry(countries=["fr"])))
    assert directory.entries[-1].countries == ("FR",)


def test_directory_needs_the_emergency_entry(tmp_path: Path) -> None:
    data = [e for e in raw("hotlines.yaml") if not e.get("emergency")]
    assert "no emergency-services entry" in _directory_error(tmp_path, data)


def test_directory_must_be_a_list(tmp_path: Path) -> None:
    assert "expected a list of entries" in _directory_error(tmp_path, {"organisation": "x"})


def test_every_bad_entry_is_reported(tmp_path: Path) -> None:
    data = [*_with_entry(countries=["UK"]), {"organisation": "Second", "countries": ["*"], "languages": ["en"]}]
    message = _directory_error(tmp_path, data)
    assert "'Test Line'" in message and "'Second'): no 'phone'" in message and "2 problem(s)" in message


def test_iso_table_and_country_normalisation() -> None:
    assert len(ISO_COUNTRIES) == 249 and {"GB", "FR", "SS", "XK"} & ISO_COUNTRIES == {"GB", "FR", "SS"}
    assert [normalise_country(c) for c in ("gb", " GB ", "uk", "Narnia", "", None)] == ["GB", "GB", "GB", None,
                                                                                         None, None]


# --- choosing hotlines --------------------------------------------------------------------------


def test_lines_for_the_country_or_anywhere() -> None:
    directory = HotlineDirectory([
        line("GB line"), line("FR line", countries=("FR",)), line("Anywhere", countries=("*",)), EMERGENCY,
    ])
    assert names(directory.choose("violence", "en", "FR")) == ["FR line", "Anywhere", "Emergency"]
    assert names(directory.choose("violence", "en", None)) == ["Anywhere", "Emergency"]
    assert names(directory.choose("violence", "en", "DE")) == ["Anywhere", "Emergency"]


def test_lines_speaking_the_language_come_first() -> None:
    directory = HotlineDirectory([line("English"), line("Spanish", languages=("es", "en")), EMERGENCY])
    assert names(directory.choose("medical", "es", "GB")) == ["Spanish", "English", "Emergency"]
    assert names(directory.choose("medical", "en", "GB")) == ["English", "Spanish", "Emergency"]


def test_lines_must_handle_the_category_and_specialists_come_first() -> None:
    directory = HotlineDirectory([
        line("General"), line("Medical only", categories=("medical",)),
        line("Detention", categories=("detention", "deportation")), EMERGENCY,
    ])
    assert names(directory.choose("detention", "en", "GB")) == ["Detention", "General", "Emergency"]
    assert names(directory.choose("medical", "en", "GB")) == ["Medical only", "General", "Emergency"]
    # an emergency of unknown kind may be heard by any line, general ones first
    assert names(directory.choose("urgent", "en", "GB")) == ["General", "Medical only", "Detention", "Emergency"]


def test_language_outranks_specialism_and_country_outranks_anywhere() -> None:
    directory = HotlineDirectory([
        line("Specialist in English", categories=("trafficking",)),
        line("Anywhere in Arabic", countries=("*",), languages=("ar",)),
        line("GB in Arabic", languages=("ar",)),
        EMERGENCY,
    ])
    assert names(directory.choose("trafficking", "ar", "GB")) == [
        "GB in Arabic", "Anywhere in Arabic", "Specialist in English", "Emergency"]


def test_at_most_three_lines_then_the_emergency_services() -> None:
    directory = HotlineDirectory([EMERGENCY, *(line(f"Line {i}") for i in range(5))])
    assert names(directory.choose("violence", "en", "GB")) == ["Line 0", "Line 1", "Line 2", "Emergency"]


def test_examples_only_when_no_real_line_fits() -> None:
    directory = HotlineDirectory([
        line("Example GB", example=True), line("Real FR", countries=("FR",)),
        line("Real GB medical", categories=("medical",)), EMERGENCY,
    ])
    assert names(directory.choose("medical", "en", "GB")) == ["Real GB medical", "Emergency"]
    assert names(directory.choose("violence", "en", "GB")) == ["Example GB", "Emergency"]
    assert names(directory.choose("violence", "en", "FR")) == ["Real FR", "Emergency"]


def test_the_emergency_services_are_always_last() -> None:
    local = line("Spain 112", countries=("ES",), languages=("*",), phone="112", emergency=True)
    directory = HotlineDirectory([EMERGENCY, line("Anywhere", countries=("*",)), local])
    assert names(directory.choose("medical", "en", "ES")) == ["Anywhere", "Spain 112"]
    assert names(directory.choose("medical", "en", "GB")) == ["Anywhere", "Emergency"]
    assert names(directory.choose("medical", "en", None)) == ["Anywhere", "Emergency"]
