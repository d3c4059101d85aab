"""What the gateway needs to open a hotline case, built from the Rasa tracker.

The actions cannot reach the gateway's case store (they run in another process, maybe on
another machine); they send a ``handoff`` directive in a custom payload, which the gateway
consumes and never shows to the person. The directive's shape is channels/directives.py, which
both ends import; the action ranks the urgency from the knowledge core's SEVERITY table, so the
gateway orders its queue without a list of categories of its own.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker

from channels.directives import REQUEST_URGENCY, UNRANKED_URGENCY, Handoff, TranscriptLine, handoff_payload
from knowledge.vocab import CATEGORY_NAMES, LANGUAGE_NAMES, SEVERITY

TRANSCRIPT_MESSAGES = 20
SUMMARY_QUOTE = 160


def transcript(tracker: Tracker, limit: int = TRANSCRIPT_MESSAGES) -> list[TranscriptLine]:
    """The last ``limit`` messages of the conversation (button payloads left out)."""
    lines: list[TranscriptLine] = []
    for event in tracker.events:
        kind, text = event.get("event"), event.get("text")
        if kind in ("user", "bot") and text and not str(text).startswith("/"):
            lines.append(TranscriptLine("person" if kind == "user" else "bot", str(text),
                                        float(event.get("timestamp") or 0)))
    return lines[-limit:]


def urgency(category: str) -> int:
    """The case's place in the hotline's queue: the category's severity, or the lowest rank when
    the person only asked for someone."""
    if not category:
        return REQUEST_URGENCY
    return SEVERITY.get(category, UNRANKED_URGENCY)


def summary(category: str, lang: str, topic: str | None, citations: list[str], latest: str) -> str:
    """One line an operator reads in the queue before opening the case."""
    what = CATEGORY_NAMES.get(category, category.replace("_", " ")) if category else "Asked for a person"
    quote = latest if len(latest) <= SUMMARY_QUOTE else latest[: SUMMARY_QUOTE - 1] + "…"
    parts = [what, f"writes in {LANGUAGE_NAMES.get(lang, lang)}"]
    if topic:
        parts.append(f"topic {topic}")
    if citations:
        parts.append("cited " + ", ".join(citations))
    return "; ".join(parts) + (f'. Latest message: "{quote}"' if quote else "")


def handoff(tracker: Tracker, category: str, lang: str, citations: list[str], topic: str = "") -> Handoff:
    """The case for this conversation; ``lang`` is the person's own language, ``topic`` what it is about."""
    latest = str(tracker.latest_message.get("text") or "")
    if latest.startswith("/"):
        latest = ""
    topic = tracker.get_slot("last_topic") or topic  # a topic the person chose, else what was cited
    return Handoff(language=lang, category=category, urgency=urgency(category), topic=topic,
                   citations=tuple(citations), summary=summary(category, lang, topic, citations, latest),
                   transcript=tuple(transcript(tracker)))


def directive(tracker: Tracker, category: str, lang: str, citations: list[str], topic: str = "") -> dict[str, Any]:
    """The custom payload for ``dispatcher.utter_message(json_message=...)``."""
    return handoff_payload(handoff(tracker, category, lang, citations, topic))
