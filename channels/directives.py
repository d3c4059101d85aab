"""What the action server asks of the gateway: the one contract between the two processes.

The actions cannot reach the gateway's stores (another process, perhaps another machine), so they
send a directive in a custom payload of their reply (``dispatcher.utter_message(json_message=...)``):

    {"handoff": {...}}   open a hotline case for this conversation (or raise the open one's urgency)
    {"forget": true}     delete everything about this conversation, in every store

The gateway consumes directives and never shows them to the person. This module is both ends:
``handoff_payload`` and ``forget_payload`` build the JSON on the action side, ``parse`` reads it
on the gateway side and tolerates anything (an older or newer action server, a bug): a field it
cannot read takes its default, a handoff it cannot read at all is dropped, and only ``true``
means forget.

The standard library only, and nothing else from ``channels``: the action server imports this
module without aiohttp or the gateway's dependencies.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

HANDOFF, FORGET = "handoff", "forget"
AUTHORS = ("person", "bot")
# A plain request for a person (no urgency): below every urgent category, which the action ranks
# from the knowledge core's SEVERITY table. A category that arrives without a rank (an action server
# older than this field) counts as urgent.
REQUEST_URGENCY = 1
UNRANKED_URGENCY = 6
MAX_URGENCY = 99
# What the case store keeps of each field (its column sizes; a transcript an operator can read).
MAX_LANGUAGE, MAX_CATEGORY, MAX_TOPIC = 8, 32, 64
MAX_CITATIONS, MAX_CITATION = 10, 200
MAX_SUMMARY = 2000
MAX_TRANSCRIPT, MAX_LINE = 50, 4000


@dataclass(frozen=True)
class TranscriptLine:
    author: str  # "person" or "bot"
    text: str
    at: float  # Unix time the message was sent


@dataclass(frozen=True)
class Handoff:
    """What an operator needs to take a conversation over, and how urgently."""

    language: str
    category: str = ""  # an urgency category, or "" when the person asked for someone
    urgency: int = REQUEST_URGENCY  # the hotline's queue shows higher numbers first
    topic: str = ""
    citations: tuple[str, ...] = ()
    summary: str = ""
    transcript: tuple[TranscriptLine, ...] = ()


@dataclass(frozen=True)
class Directives:
    """Everything the replies to one message asked of the gateway."""

    handoff: Handoff | None = None
    forget: bool = False


# the action server's side


def handoff_payload(handoff: Handoff) -> dict[str, Any]:
    """The custom payload that asks the gateway to open a case."""
    return {HANDOFF: {
        "language": handoff.language, "category": handoff.category, "urgency": handoff.urgency,
        "topic": handoff.topic, "citations": list(handoff.citations), "summary": handoff.summary,
        "transcript": [[line.author, line.text, line.at] for line in handoff.transcript],
    }}


def forget_payload() -> dict[str, Any]:
    """The custom payload that asks the gateway to delete this person's data everywhere."""
    return {FORGET: True}


# the gateway's side


def parse(replies: Iterable[Any]) -> Directives:
    """The directives in Rasa's replies to one message (the last of each kind counts)."""
    handoff: Handoff | None = None
    forget = False
    for reply in replies:
        custom = reply.get("custom") if isinstance(reply, Mapping) else None
        if not isinstance(custom, Mapping):
            continue
        if HANDOFF in custom:
            handoff = parse_handoff(custom[HANDOFF]) or handoff
        if custom.get(FORGET) is True:
            forget = True
    return Directives(handoff, forget)


def parse_handoff(data: Any) -> Handoff | None:
    """A handoff from its JSON, every field checked and cut to size; None if it is not an object."""
    if not isinstance(data, Mapping):
        return None
    category = _text(data.get("category"), MAX_CATEGORY)
    return Handoff(
        language=_text(data.get("language"), MAX_LANGUAGE) or "en",
        category=category,
        urgency=_urgency(data.get("urgency"), category),
        topic=_text(data.get("topic"), MAX_TOPIC),
        citations=tuple(c[:MAX_CITATION] for c in _list(data.get("citations")) if isinstance(c, str) and c)
        [:MAX_CITATIONS],
        summary=_text(data.get("summary"), MAX_SUMMARY),
        transcript=tuple(line for line in map(_line, _list(data.get("transcript"))) if line is not None)
        [-MAX_TRANSCRIPT:],
    )


def _text(value: Any, limit: int) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _urgency(value: Any, category: str) -> int:
    number = _number(value)
    if number is None:
        return UNRANKED_URGENCY if category else REQUEST_URGENCY
    return int(min(max(number, 0), MAX_URGENCY))


def _line(value: Any) -> TranscriptLine | None:
    if not isinstance(value, list | tuple) or len(value) != 3:
        return None
    author, text, at = value
    when = _number(at)
    if author not in AUTHORS or not isinstance(text, str) or when is None:
        return None
    return TranscriptLine(author, text[:MAX_LINE], when)
