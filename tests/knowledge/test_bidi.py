"""Isolating left-to-right runs for right-to-left text."""

from __future__ import annotations

from bidi import get_display

from knowledge import bidi


def test_runs_are_isolated_only_in_right_to_left_languages() -> None:
    text = "اتصل على +44 7700 900123 أو Migrant-Rights.org"
    isolated = bidi.for_language(text, "ar")
    assert isolated == f"اتصل على {bidi.LRI}+44 7700 900123{bidi.PDI} أو {bidi.LRI}Migrant-Rights.org{bidi.PDI}"
    assert bidi.for_language("call +44 7700 900123", "en") == "call +44 7700 900123"


def test_an_isolated_number_is_shown_in_its_own_order() -> None:
    line = "واتساب " + bidi.isolate("+44 7700 900124")
    assert "+44 7700 900124" in get_display(line)
    assert "+44 7700 900124" not in get_display("واتساب +44 7700 900124")


def test_a_bracket_of_the_right_to_left_sentence_stays_outside_the_isolate() -> None:
    from knowledge.bidi import LRI, PDI, isolate_ltr_runs

    assert isolate_ltr_runs("آسٹریلیا میں 000)") == f"آسٹریلیا میں {LRI}000{PDI})"
    assert isolate_ltr_runs("(112 في الاتحاد") == f"({LRI}112{PDI} في الاتحاد"
    # both brackets outside: the right-to-left line pairs and mirrors them around the number
    assert isolate_ltr_runs("اتصل (+44 7700 900123)") == f"اتصل ({LRI}+44 7700 900123{PDI})"
    assert isolate_ltr_runs("9:00-17:00 (Mon-Fri)") == f"{LRI}9:00-17:00 (Mon-Fri){PDI}"
