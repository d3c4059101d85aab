"""The handoff directive from both ends: what actions/handoff.py builds from a real tracker fixture
is what the gateway reads (channels/directives.py), urgency rank included."""

from __future__ import annotations

import json

import pytest

from actions import handoff
from channels import directives
from channels.directives import REQUEST_URGENCY, Handoff, TranscriptLine
from knowledge.vocab import SEVERITY

ARREST = "the police arrested me an hour ago and I am in a cell now, they want me to sign a paper I cannot read"


def as_rasa_sends_it(payload: dict) -> list[dict]:
    """The action's json_message as the gateway receives it from Rasa's REST channel."""
    return [{"recipient_id": "x", "text": "Safety steps..."},
            {"recipient_id": "x", "custom": json.loads(json.dumps(payload))}]


def test_an_urgent_handoff_reaches_the_gateway_whole(tracker) -> None:
    payload = handoff.directive(tracker("urgent_en", slots={"last_topic": "detention"}), "detention", "en",
                                ["icrmw:art16", "icrmw:art17"])
    found = directives.parse(as_rasa_sends_it(payload))
    assert not found.forget
    assert found.handoff == Handoff(
        language="en", category="detention", urgency=SEVERITY["detention"], topic="detention",
        citations=("icrmw:art16", "icrmw:art17"),
        summary=f'Detention; writes in English; topic detention; cited icrmw:art16, icrmw:art17. Latest message: '
                f'"{ARREST}"',
        transcript=(TranscriptLine("person", "hello", 1764000000.0),
                    TranscriptLine("bot", "Hello! I can tell you what the UN Migrant Workers Convention says.",
                                   1764000000.5),
                    TranscriptLine("person", ARREST, 1764000200.0)))


@pytest.mark.parametrize("category", sorted(SEVERITY))
def test_every_category_arrives_with_its_severity(tracker, category: str) -> None:
    found = directives.parse(as_rasa_sends_it(handoff.directive(tracker("urgent_en"), category, "en", [])))
    assert found.handoff is not None
    assert (found.handoff.category, found.handoff.urgency) == (category, SEVERITY[category])


def test_a_request_for_a_person_ranks_below_every_urgent_case(tracker) -> None:
    found = directives.parse(as_rasa_sends_it(handoff.directive(tracker("question_es"), "", "es", [])))
    assert found.handoff is not None
    assert (found.handoff.category, found.handoff.urgency) == ("", REQUEST_URGENCY)
    assert found.handoff.summary.startswith("Asked for a person; writes in Spanish")
    assert REQUEST_URGENCY < min(SEVERITY.values())


def test_button_payloads_stay_out_of_the_transcript_and_the_summary(tracker) -> None:
    made = handoff.handoff(tracker("urgent_en", text="/ask_human"), "", "en", [])
    assert all(not line.text.startswith("/") for line in made.transcript)
    assert "Latest message" not in made.summary


def test_a_long_latest_message_is_quoted_short(tracker) -> None:
    made = handoff.handoff(tracker("urgent_en", text="help " * 100), "violence", "en", [])
    quote = made.summary.split('Latest message: "')[1]
    assert len(quote) == handoff.SUMMARY_QUOTE + 1 and quote.endswith('…"')


def test_every_category_an_action_sends_has_a_name_in_the_console() -> None:
    """The console names categories and languages itself (the gateway imports nothing of the core)."""
    from channels.console.pages import CATEGORY_NAMES, LANGUAGE_NAMES
    from knowledge.vocab import FALLBACK_CATEGORY, SUPPORTED_LANGUAGES, URGENCY_CATEGORIES

    assert {*URGENCY_CATEGORIES, FALLBACK_CATEGORY} <= set(CATEGORY_NAMES)
    assert set(SUPPORTED_LANGUAGES) <= set(LANGUAGE_NAMES)
