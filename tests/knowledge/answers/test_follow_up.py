from __future__ import annotations

from knowledge.answers.follow_up import CONTEXT_MAX_CHARS, CONTEXT_MAX_WORDS, follow_up_query


def test_the_joined_text_is_the_previous_question_then_the_message() -> None:
    assert follow_up_query(" can my family  join me? ", "and my\tchildren?") == (
        "can my family join me? and my children?")


def test_chained_follow_ups_do_not_grow_without_bound() -> None:
    previous = "can I join a trade union?"
    for _ in range(20):  # each joined reading becomes the next message's context
        previous = follow_up_query(previous, "and what if I have no papers at all?")
    context = previous[: -len(" and what if I have no papers at all?")]
    assert len(context.split()) <= CONTEXT_MAX_WORDS and len(context) <= CONTEXT_MAX_CHARS
    assert previous.endswith("and what if I have no papers at all?")


def test_scripts_without_spaces_are_capped_by_characters() -> None:
    previous = "我的老板扣留了我的护照" * 40
    joined = follow_up_query(previous, "我的孩子呢？")
    assert joined.endswith(" 我的孩子呢？") and len(joined) <= CONTEXT_MAX_CHARS + 1 + len("我的孩子呢？")
