"""The country a message is about, from what people write in each corpus language."""

from __future__ import annotations

import pytest

from knowledge.states import find_country, question_text

PHRASINGS = {
    "en": [("I work in Oman", "OM"), ("im in saudi now", "SA"), ("working in the UAE as a driver", "AE"),
           ("my employer in Kuwait keeps my passport", "KW"), ("does this apply in the united kingdom?", "GB"),
           ("i am a maid in Hong Kong", "HK"), ("has the Philippines ratified it", "PH"),
           ("moved to Malaysia last year", "MY"), ("Im from Nepal, working in Qatar", "QA"),
           ("factory job in Taiwan", "TW"), ("i live in dubai", "AE"), ("USA", "US")],
    "es": [("trabajo en España", "ES"), ("estoy en Estados Unidos sin papeles", "US"),
           ("vivo en mexico hace 3 años", "MX"), ("mi patrón en Chile no me paga", "CL"),
           ("soy de Honduras y trabajo en EEUU", "US"), ("la convencion aplica en argentina?", "AR"),
           ("estoy en el Líbano", "LB"), ("trabajo en Arabia Saudita", "SA"), ("me vine a italia", "IT"),
           ("estoy en los Emiratos", "AE"), ("Perú ratificó la convención?", "PE")],
    "fr": [("je travaille en France", "FR"), ("je suis au Liban", "LB"), ("j'habite en Belgique", "BE"),
           ("je bosse aux Émirats arabes unis", "AE"), ("le Maroc a ratifié ?", "MA"),
           ("je suis malien et je travaille en Algérie", "DZ"), ("au Canada depuis 2 ans", "CA"),
           ("mon employeur en Arabie saoudite", "SA"), ("je suis à Beyrouth", "LB"),
           ("le Sénégal est partie ?", "SN")],
    "ar": [("أعمل في الكويت", "KW"), ("أنا في السعودية", "SA"), ("أشتغل بالسعوديه", "SA"),
           ("ساكنة في الإمارات", "AE"), ("جيت للأردن من سنة", "JO"), ("هل صادقت مصر على الاتفاقية؟", "EG"),
           ("أنا من الفلبين وأشتغل في قطر", "QA"), ("الكفيل في سلطنة عمان أخذ جوازي", "OM"),
           ("كنخدم فإسبانيا", "ES"), ("ana shaghala fel kuwait", "KW"), ("في عُمان ما عندي إجازة", "OM"),
           ("شغالة في لبنان", "LB")],
}


@pytest.mark.parametrize("text,iso", [pair for pairs in PHRASINGS.values() for pair in pairs])
def test_the_country_named(text: str, iso: str) -> None:
    state = find_country(text)
    assert state is not None and state.iso == iso, text


@pytest.mark.parametrize("text", [
    "my madam took my passport", "tell us what to do", "el jefe usa mi teléfono", "il n'y a pas d'eau",
    "أعمل في عمان",  # Amman (Jordan) or Oman: both spell it so; the assistant asks instead of guessing
    "jordan my coworker took my money", "mi jefe no me paga lo que gana", "مالي ما وصلني",
])
def test_no_country_where_none_is_meant(text: str) -> None:
    assert find_country(text) is None


def test_where_the_person_works_wins_over_where_they_come_from() -> None:
    assert find_country("soy de Guatemala pero trabajo en México").iso == "MX"
    assert find_country("I'm from Kenya, now in Saudi Arabia").iso == "SA"
    assert find_country("je viens du Mali").iso == "ML"  # only an origin: that is the country asked about


def test_typos_within_an_edit_or_two() -> None:
    assert find_country("my sponsor in soudi arabia").iso == "SA"
    assert find_country("trabajo en malasya").iso == "MY"


def test_what_is_asked_without_the_countries() -> None:
    """The Convention is searched without the country: "trabajo en España, ..." was answered with
    project-tied work (art. 61) instead of equal pay (art. 25)."""
    assert question_text("trabajo en España, mi jefe no me paga") == "trabajo en , mi jefe no me paga"
    assert question_text("Oman") == "Oman"  # a country alone stays what it is
    assert question_text("my boss took my passport") == "my boss took my passport"


@pytest.mark.parametrize("text,iso", [
    ("म मलेसियामा छु", "MY"),  # "in" joined to the name
    ("म नेपाली हुँ, कतारमा काम गर्छु", "QA"),  # नेपाली (Nepali) is not Nepal
    ("म नेपालबाट हुँ, अहिले साउदीमा काम गर्छु", "SA"),  # from Nepal, in Saudi Arabia
    ("nepal bata aako, qatar ma chu", "QA"),
    ("मैं मलेशिया में हूँ लेकिन नेपाल से हूँ", "MY"),  # Hindi, the postposition a word of its own
    ("दुबईमा मेरो साहुले पासपोर्ट राख्यो", "AE"),
    ("আমি কাতারে কাজ করি", "QA"),  # Bengali: "in" is a vowel sign joined to the name
    ("আমি বাংলাদেশ থেকে এসেছি, এখন সৌদিতে আছি", "SA"),  # from Bangladesh, in Saudi Arabia
    ("মাল\u09af\u09bcেশি\u09af\u09bcা\u09af\u09bc আমার মালিক বেতন দেয় না", "MY"),  # য় as য and its dot
    ("মাল\u09dfেশি\u09dfা\u09df আছি", "MY"),  # য় precomposed
    ("ami bangladesh theke, ekhon qatar e achi", "QA"),
    ("میں پاکستان سے ہوں اور قطر میں کام کرتا ہوں", "QA"),  # Urdu: "in", "from" after the name
])
def test_nepali_and_hindi_postpositions(text: str, iso: str) -> None:
    state = find_country(text)
    assert state is not None and state.iso == iso


@pytest.mark.parametrize("text", [
    "sahu le malai kutyo",  # malai: "to me", one letter from Malawi; "le malai" is not "le Mali"
    "मलाई फ्रान्सेली भाषा आउँछ",  # a word with a virama inside another (France in "French")
    "अनुमोदन गरिसके",  # "has ratified": not Greece
    "kya vo mujhe rok sakta hai",  # rok: "stop", not the ROK
    "আমি বাংলায় কথা বলি",  # বাংলা (Bengali, the language) is not Bangladesh
])
def test_no_country_in_nepali_or_hindi_words(text: str) -> None:
    assert find_country(text) is None


@pytest.mark.parametrize("text,iso", [
    ("nasa Israel ako, caregiver", "IL"),  # Tagalog "nasa": in, before an ambiguous name
    ("galing sa Pilipinas, nasa Kuwait ako ngayon", "KW"),  # "galing sa": from
    ("saya dari Indonesia, kerja di Malaysia", "MY"),  # Indonesian "dari": from, "di": in
])
def test_tagalog_and_indonesian_in_and_from(text: str, iso: str) -> None:
    state = find_country(text)
    assert state is not None and state.iso == iso


def test_roman_hindi_in_after_the_name() -> None:
    state = find_country("israil mein caregiver hoon")
    assert state is not None and state.iso == "IL"
    assert find_country("main bahari hoon") is None  # bahari: "outside", not a misspelt Bahrain
