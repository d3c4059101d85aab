"""From retrieved provisions to a short, cited answer in the person's language.

Kept out of the Rasa actions (which only translate between Rasa and this module) so that the
answer logic can be tested and reused by the terminal shell. Answers are extractive: they are
made of the corpus's own summaries, never generated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache

import numpy as np
import yaml

from knowledge.answers.follow_up import follow_up_query, is_follow_up
from knowledge.answers.phrases import default_phrases, part_label, phrases
from knowledge.corpus.model import Corpus
from knowledge.search.retriever import Hit, Retriever, SearchResult
from knowledge.settings import DATA_DIR
from knowledge.states import State, binding_lines
from knowledge.vocab import answer_language

# The reading with the previous question wins unless the message alone scores clearly higher:
# a short follow-up often matches something on its own ("my wife?" -> family reunification).
# Measured on 17 follow-ups and 15 short new questions written for this (tests/knowledge):
# top-1 right for 10/17 and 9/15 with no margin, 13/17 and 9/15 with 0.01, 15/17 and 6/15 with 0.03.
FOLLOW_UP_MARGIN = 0.01
SEE_ALSO_MARGIN = 0.03  # a second provision is shown when it scores this close to the first
# Arabic-Indic, Persian, Devanagari and Bengali digits, as people type article numbers ("المادة ١٦",
# "धारा २१", "ধারা ২১")
_ARABIC_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹०१२३४५६७८९০১২৩৪৫৬৭৮৯", "0123456789" * 4)


@cache
def topic_questions() -> dict[str, str]:
    return dict(yaml.safe_load((DATA_DIR / "topics.yaml").read_text("utf-8")))


def citation_label(citation_id: str, lang: str) -> str:
    """A human label for an ID in the answer's language: ``icrmw:art21`` -> "Convention, art. 21"."""
    return default_phrases().citation_label(citation_id, answer_language(lang))


def scope_note(hit: Hit, lang: str) -> str:
    if not hit.protects:
        return ""
    return phrases(answer_language(lang)).get(f"scope_{hit.protects}", "")


@dataclass
class Answer:
    """What the assistant says, and what it stands on."""

    text: str
    covered: bool
    citations: list[str] = field(default_factory=list)
    lang: str = "en"
    query: str = ""


def compose(result: SearchResult, lang: str, state: State | None = None) -> Answer:
    """The best provision in full, with its scope and what binds whom (``state``: the person's
    country, if known), and close runners-up as "see also"."""
    lang = answer_language(lang)
    words = phrases(lang)
    if not result.covered or not result.hits:
        return Answer(words["not_covered"], False, [], lang, result.question)
    top = result.hits[0]
    lines = [f"{top.title} ({citation_label(top.id, lang)})", top.text]
    note = scope_note(top, lang)
    if note:
        lines.append(note)
    lines += binding_lines(top.id, state, lang)
    others = [h for h in result.hits[1:3] if h.score >= top.score - SEE_ALSO_MARGIN]
    if others:
        refs = words["citation_sep"].join(f"{h.title} ({citation_label(h.id, lang)})" for h in others)
        lines.append(words["see_also"].format(refs=refs))
    return Answer("\n".join(lines), True, [top.id, *(h.id for h in others)], lang, result.question)


def answer_question(
    retriever: Retriever, text: str, lang: str, previous_question: str | None = None,
    vector: np.ndarray | None = None, follow_up_vector: np.ndarray | None = None, state: State | None = None,
) -> Answer:
    """Answer ``text``; a short follow-up is also read with the previous question. ``vector``
    and ``follow_up_vector``: the query vectors of the message and of the joined text
    (``follow_up_query``), if already computed."""
    result = retriever.search(text, lang=lang, k=3, vector=vector)
    if previous_question and is_follow_up(text):
        joined = retriever.search(follow_up_query(previous_question, text), lang=lang, k=3,
                                  vector=follow_up_vector)
        own = result.ranked[0].score if result.ranked else 0.0
        if joined.covered and (not result.covered or joined.hits[0].score + FOLLOW_UP_MARGIN >= own):
            result = joined
    return compose(result, lang, state)


def answer_topic(retriever: Retriever, topic: str, lang: str, state: State | None = None) -> Answer | None:
    question = topic_questions().get(topic)
    if question is None:
        return None
    answer = compose(retriever.search(question, lang=lang, k=3), lang, state)
    answer.query = question
    return answer


def parse_article_number(value: object) -> int | None:
    """"25", "art. 25", "٢٥" -> 25; anything else (or outside 1..93) -> None."""
    digits = re.findall(r"\d+", str(value or "").translate(_ARABIC_DIGITS))
    if not digits:
        return None
    n = int(digits[0])
    return n if 1 <= n <= 93 else None


def explain_article(corpus: Corpus, n: int, lang: str, state: State | None = None) -> Answer:
    lang = answer_language(lang)
    cid = f"icrmw:art{n}"
    entry = corpus.get(cid, lang)
    meta = corpus.metas[cid]
    assert entry is not None
    hit = Hit(cid, 1.0, entry.lang, entry.summary, entry.title, meta.source, meta.part, meta.protects)
    part = part_label(str(meta.part), phrases(lang))
    lines = [f"{entry.title} ({citation_label(cid, lang)}{phrases(lang)['comma']}{part})", entry.summary]
    note = scope_note(hit, lang)
    if note:
        lines.append(note)
    lines += binding_lines(cid, state, lang)
    return Answer("\n".join(lines), True, [cid], lang, cid)
