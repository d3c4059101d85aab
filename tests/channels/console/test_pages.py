"""The console's pages as pure functions: what an operator reads, and that whatever a stranger
typed is escaped (Jinja2's autoescape, on for every template)."""

from __future__ import annotations

import pytest

from channels.cases import Case, CaseMessage, OperatorSession
from channels.console.pages import age, case_page, login_page, queue_page

ME = OperatorSession(1, "amal", 'csrf"<token>')
HOSTILE = '<script>alert("x")</script>'


@pytest.mark.parametrize(("seconds", "shown"), [(-5, "under a minute"), (59, "under a minute"), (60, "1 min"),
                                                (3599, "59 min"), (3600, "1 h"), (5400, "1 h 30 min"),
                                                (86400, "1 d"), (90000, "1 d 1 h")])
def test_age_reads_like_a_person_would_say_it(seconds: float, shown: str) -> None:
    assert age(seconds) == shown


def case(**fields: object) -> Case:
    values: dict[str, object] = dict(id=3, conversation="telegram-x", channel="telegram", language="ar",
                                     category="violence", urgency=8, topic="housing", citations=["icrmw:art16"],
                                     summary="s", status="open", operator_id=None, created=0.0, updated=0.0,
                                     closed=None)
    values.update(fields)
    return Case(**values)  # type: ignore[arg-type]


def test_everything_a_stranger_typed_is_escaped() -> None:
    hostile = case(category=HOSTILE, topic=HOSTILE, summary=HOSTILE, citations=[HOSTILE], language=HOSTILE)
    pages = [queue_page(ME, [hostile], {}, 60.0),
             case_page(ME, hostile, [CaseMessage(1, "person", HOSTILE, 1.0), CaseMessage(2, HOSTILE, "x", 2.0)], {},
                       60.0, error=HOSTILE, drafts={"note": HOSTILE}),
             login_page(HOSTILE, HOSTILE)]
    for page in pages:
        assert "<script>" not in page and "&lt;script&gt;" in page
    assert 'value="csrf&#34;&lt;token&gt;"' in pages[0], "even the CSRF field is escaped"


def test_the_forms_an_operator_sees_follow_the_case() -> None:
    open_case = case_page(ME, case(status="open"), [], {}, 60.0)
    assert 'class="claim"' in open_case and 'class="stack reply"' not in open_case
    mine = case_page(ME, case(status="claimed", operator_id=1), [], {}, 60.0)
    assert 'class="claim"' not in mine and 'class="stack reply"' in mine and "claimed by you" in mine
    theirs = case_page(ME, case(status="claimed", operator_id=2), [], {2: "ben"}, 60.0)
    assert 'class="stack reply"' not in theirs and "claimed by ben" in theirs
    closed = case_page(ME, case(status="closed"), [], {}, 60.0)
    assert "This case is closed." in closed and "<form method=\"post\" action=\"/console/cases/3" not in closed


def test_the_queue_shows_the_failed_count_only_when_there_is_one() -> None:
    assert "could not be processed" not in queue_page(ME, [], {}, 0.0, parked=0)
    one, three = queue_page(ME, [], {}, 0.0, parked=1), queue_page(ME, [], {}, 0.0, parked=3)
    assert ">1 message could not be processed</a>: the assistant did not answer it." in one
    assert ">3 messages could not be processed</a>: the assistant did not answer them." in three


def test_staff_read_names_not_codes() -> None:
    """A Nepali self-harm case reads "Self-harm" and "Nepali (ne)", so the hotline can route it."""
    page = queue_page(ME, [case(category="self_harm", language="ne", topic="Protection of identity documents")],
                      {}, 60.0)
    assert "<td>Self-harm</td>" in page and "<td>Nepali (ne)</td>" in page and "self_harm" not in page
    asked = queue_page(ME, [case(category="", urgency=1, language="tl")], {}, 60.0)
    assert "<td>Asked for a person</td>" in asked and "<td>Tagalog (tl)</td>" in asked
    detail = case_page(ME, case(category="child_alone", language="bn"), [], {}, 60.0)
    assert "Child alone" in detail and "Bengali (bn)" in detail
