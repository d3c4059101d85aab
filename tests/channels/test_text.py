"""channels/text.py: clean splits within limits, GSM-7 detection, SMS segment counts, numbered options."""

from __future__ import annotations

import random

import pytest

from channels.models import Button
from channels.text import (
    GSM7_BASIC,
    GSM7_EXTENDED,
    gsm7_length,
    is_gsm7,
    numbered,
    sms_segments,
    split_sms,
    split_text,
    ucs2_length,
)

# split_text


def test_short_text_is_one_part_and_blank_text_none() -> None:
    assert split_text("  Hello.  ", 10) == ["Hello."]
    assert split_text("", 10) == []
    assert split_text(" \n\n ", 10) == []


def test_paragraphs_are_kept_whole_when_they_fit() -> None:
    first = "Your passport is yours. Your employer may not keep it."
    second = "You can report it to the labour office. They must register your complaint."
    third = "Keep a copy of your contract."
    text = f"{first}\n\n{second}\n\n{third}"
    assert split_text(text, len(second) + 5) == [first, second, third]
    assert split_text(text, len(first) + len(second) + 2) == [f"{first}\n\n{second}", third]


def test_lines_before_sentences() -> None:
    text = "1. Call the hotline.\n2. Keep your receipts.\n3. Write down dates."
    assert split_text(text, 45) == ["1. Call the hotline.\n2. Keep your receipts.", "3. Write down dates."]


def test_sentences_before_words() -> None:
    text = "Ask for a copy. Keep it safe! Is it signed? Then it binds both of you."
    parts = split_text(text, 32)
    assert parts == ["Ask for a copy. Keep it safe!", "Is it signed?", "Then it binds both of you."]


@pytest.mark.parametrize(("text", "ends"), [
    ("क्या यह कानूनी है। मेरा मालिक पासपोर्ट रखता है। मुझे मदद चाहिए।", "।"),
    ("هل هذا قانوني؟ صاحب العمل أخذ جوازي؟ ماذا أفعل؟", "؟"),
])
def test_sentence_ends_of_other_scripts(text: str, ends: str) -> None:
    parts = split_text(text, 30)
    assert len(parts) > 1
    assert all(part.endswith(ends) for part in parts)


def test_words_when_there_are_no_sentences() -> None:
    text = "one two three four five six seven eight nine ten"
    parts = split_text(text, 14)
    assert parts == ["one two three", "four five six", "seven eight", "nine ten"]


def test_a_word_longer_than_the_limit_is_cut() -> None:
    assert split_text("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]
    assert split_text("see https://example.org/" + "a" * 30, 20) == ["see", "https://example.org/", "a" * 20, "a" * 10]


def test_measure_counts_what_the_platform_counts() -> None:
    # "€" costs two GSM-7 septets; an emoji two UTF-16 code units
    assert split_text("€€€ €€€", 6, gsm7_length) == ["€€€", "€€€"]
    assert split_text("🙂🙂🙂 🙂🙂🙂", 6, ucs2_length) == ["🙂🙂🙂", "🙂🙂🙂"]
    assert split_text("🙂🙂 🙂", 4) == ["🙂🙂 🙂"]
    assert split_text("🙂🙂 🙂", 4, ucs2_length) == ["🙂🙂", "🙂"]


WORDS = ["a", "to", "the", "passport.", "why?", "done!", "€", "[x]", "🙂", "عقد", "वेतन।", "x" * 45, "\n", "\n\n", "  "]


@pytest.mark.parametrize("seed", range(6))
def test_nothing_lost_and_limits_respected(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(150):
        text = "".join(rng.choice(WORDS) + rng.choice([" ", " ", "", "\n"]) for _ in range(rng.randint(0, 120)))
        limit = rng.randint(2, 200)
        for measure in (len, gsm7_length, ucs2_length):
            parts = split_text(text, limit, measure)
            assert all(0 < measure(part) <= limit for part in parts), (text, limit, measure)
            assert all(part.strip() for part in parts)
            # only whitespace may change, at the joins (and a cut word loses nothing)
            assert "".join("".join(parts).split()) == "".join(text.split())


# GSM-7


def test_gsm7_tables_have_the_standard_sizes() -> None:
    # 128 positions, one of which (0x1B) is the escape to the extension table
    assert len(GSM7_BASIC) == 127
    assert len(GSM7_EXTENDED) == 10
    assert not GSM7_BASIC & GSM7_EXTENDED


@pytest.mark.parametrize(("text", "gsm"), [
    ("Hello, call 112 @ 10:00 £5 $5 ¥5 ¿¡ ÄÖÑÜäöñüà", True),
    ("Price: 20€ [see] {a} ~ ^ | \\", True),
    ("line\nbreak\r", True),
    ("", True),
    ("se quedó con mi pasaporte", False),  # ó is not in GSM-7 (ò is)
    ("Don’t", False),  # a typographic apostrophe
    ("صاحب العمل", False),
    ("नमस्ते", False),
    ("ok 🙂", False),
    ("`backtick`", False),
])
def test_is_gsm7(text: str, gsm: bool) -> None:
    assert is_gsm7(text) is gsm


def test_extension_characters_take_two_septets() -> None:
    assert gsm7_length("€") == 2
    assert gsm7_length("[a]") == 5
    assert gsm7_length("abc") == 3


def test_emoji_take_two_ucs2_code_units() -> None:
    assert ucs2_length("🙂") == 2
    assert ucs2_length("ع") == 1
    assert ucs2_length("a🙂b") == 4


# SMS segments


@pytest.mark.parametrize(("text", "segments"), [
    ("", 1),
    ("a" * 160, 1),
    ("a" * 161, 2),
    ("a" * 306, 2),
    ("a" * 307, 3),
    ("€" * 80, 1),  # 160 septets
    ("€" * 80 + "a", 2),
    ("ع" * 70, 1),
    ("ع" * 71, 2),
    ("ع" * 134, 2),
    ("ع" * 135, 3),
    ("🙂" * 35, 1),  # 70 code units
    ("🙂" * 35 + "a", 2),
    ("a" * 69 + "🙂", 2),  # one emoji makes the whole text UCS-2: 71 units
    ("a" * 159 + "é", 1),  # é is GSM-7
    ("a" * 69 + "á", 1),  # á is not: 70 UCS-2 units
    ("a" * 70 + "á", 2),
])
def test_sms_segments(text: str, segments: int) -> None:
    assert sms_segments(text) == segments


@pytest.mark.parametrize("text", [
    "a" * 152 + "€" + "a" * 152,  # 306 septets, but "€" cannot be split: 152 + 153 + 1
    "a" * 66 + "🙂" + "a" * 66,  # 134 units, but the emoji cannot be split: 66 + 67 + 1
])
def test_sms_segments_never_split_a_character(text: str) -> None:
    assert sms_segments(text) == 3


def test_split_sms_uses_the_whole_allowance_of_each_encoding() -> None:
    english = "Keep a copy of every paper you sign. " * 40
    parts = split_sms(english, 4)
    assert all(gsm7_length(p) <= 4 * 153 and sms_segments(p) <= 4 for p in parts)
    assert max(sms_segments(p) for p in parts) == 4
    arabic = "احتفظ بنسخة من كل ورقة توقعها. " * 40
    parts = split_sms(arabic, 4)
    assert all(ucs2_length(p) <= 4 * 67 and sms_segments(p) <= 4 for p in parts)
    assert max(sms_segments(p) for p in parts) == 4


def test_split_sms_single_segment_limits() -> None:
    assert all(len(p) <= 160 for p in split_sms("word " * 100, 1))
    assert all(ucs2_length(p) <= 70 for p in split_sms("كلمة " * 100, 1))
    assert all(sms_segments(p) == 1 for p in split_sms("كلمة " * 100, 1))


# numbered options


def test_numbered_lines_under_the_text() -> None:
    buttons = (Button("Yes", "/affirm"), Button("No", "/deny"))
    assert numbered("Is it signed?", buttons) == "Is it signed?\n\n1. Yes\n2. No"
    assert numbered("", buttons) == "1. Yes\n2. No"
    assert numbered("Just text", ()) == "Just text"
