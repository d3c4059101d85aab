"""The action server -> gateway contract, gateway side: whatever arrives, parse never raises, keeps
what it can read, and deletes data only on an explicit ``"forget": true``."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest

from channels import directives
from channels.directives import (
    MAX_CITATIONS,
    MAX_SUMMARY,
    REQUEST_URGENCY,
    UNRANKED_URGENCY,
    Directives,
    Handoff,
    TranscriptLine,
    forget_payload,
    handoff_payload,
    parse,
)

FULL = Handoff(language="ar", category="locked_in", urgency=8, topic="housing", citations=("icrmw:art16",),
               summary="locked in by the employer", transcript=(TranscriptLine("person", "ساعدني", 1.5),
                                                                TranscriptLine("bot", "Safety steps", 2.0)))


def replies(*customs: Any) -> list[dict[str, Any]]:
    return [{"text": "shown to the person"}, *({"custom": custom} for custom in customs)]


def test_what_the_actions_build_is_what_the_gateway_reads() -> None:
    over_the_wire = json.loads(json.dumps(handoff_payload(FULL)))
    assert parse(replies(over_the_wire)) == Directives(handoff=FULL)
    assert parse(replies(forget_payload())) == Directives(forget=True)
    assert parse(replies(over_the_wire, forget_payload())) == Directives(FULL, True)
    assert parse(replies()) == Directives()


def test_an_older_action_server_without_urgency_is_still_ranked() -> None:
    old = {"handoff": {"language": "en", "category": "documents", "topic": "", "citations": [], "summary": "s",
                       "transcript": [["person", "they took my passport", 1.0]]}}
    (found,) = [parse(replies(old)).handoff]
    assert found is not None and found.urgency == UNRANKED_URGENCY
    plain = parse(replies({"handoff": {"language": "en", "category": ""}})).handoff
    assert plain is not None and (plain.category, plain.urgency) == ("", REQUEST_URGENCY)


@pytest.mark.parametrize("custom", [
    {"forget": "yes"}, {"forget": 1}, {"forget": "false"}, {"forget": None}, {"forget": [True]}, {"Forget": True},
])
def test_only_true_deletes(custom: Any) -> None:
    assert parse(replies(custom)).forget is False


@pytest.mark.parametrize("junk", [None, 1, "handoff", [], ["en"], True])
def test_a_handoff_that_is_not_an_object_is_dropped(junk: Any) -> None:
    assert parse(replies({"handoff": junk})) == Directives()


def test_bad_fields_take_their_defaults_and_long_ones_are_cut() -> None:
    found = parse(replies({"handoff": {
        "language": 42, "category": ["x"], "urgency": "9", "topic": None,
        "citations": ["ok", 7, "", None, *[f"c{i}" for i in range(20)]],
        "summary": "s" * (MAX_SUMMARY + 50),
        "transcript": [["person", "fine", 1], ["operator", "not an author", 2], ["bot", 3, 4], ["bot", "x"],
                       "junk", ["bot", "no time", "yesterday"], ["bot", "nan time", float("nan")],
                       ["person", "later", 5.5]],
    }})).handoff
    assert found == Handoff(language="en", category="", urgency=REQUEST_URGENCY, topic="",
                            citations=("ok", *[f"c{i}" for i in range(MAX_CITATIONS - 1)]), summary="s" * MAX_SUMMARY,
                            transcript=(TranscriptLine("person", "fine", 1.0), TranscriptLine("person", "later", 5.5)))


@pytest.mark.parametrize(("given", "rank"), [(9, 9), (9.7, 9), (-3, 0), (10**9, 99), (True, UNRANKED_URGENCY),
                                             (float("inf"), UNRANKED_URGENCY)])
def test_urgency_is_a_bounded_whole_number(given: Any, rank: int) -> None:
    found = parse(replies({"handoff": {"language": "en", "category": "violence", "urgency": given}})).handoff
    assert found is not None and found.urgency == rank


@pytest.mark.parametrize("reply", [None, "text", 3, {"custom": None}, {"custom": "forget"}, {"custom": ["handoff"]}])
def test_replies_of_any_shape_are_skipped(reply: Any) -> None:
    assert parse([reply]) == Directives()


def test_a_later_unreadable_handoff_does_not_undo_an_earlier_one() -> None:
    assert parse(replies(handoff_payload(FULL), {"handoff": "junk"})).handoff == FULL


def test_the_action_server_can_import_it_alone() -> None:
    """Standard library only: no aiohttp, nothing else from channels (the action server imports it)."""
    tree = ast.parse(Path(directives.__file__).read_text("utf-8"))
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {(node.module or "").split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported <= {"__future__", "math", "collections", "dataclasses", "typing"}, imported
