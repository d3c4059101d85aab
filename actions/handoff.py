"""What the gateway needs to open a hotline case, built from the Rasa tracker.

The actions cannot reach the gateway's case store (they run in another process, maybe on
another machine); they send a ``handoff`` directive in a custom payload, which the gateway
consumes and never shows to the person (channels/rasa.py).
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker

TRANSCRIPT_MESSAGES = 20
SUMMARY_QUOTE = 160


def transcript(tracker: Tracker, limit: int = TRANSCRIPT_MESSAGES) -> list[list[Any]]:
    """The last ``limit`` messages of the conversation as [author, text, timestamp]."""
    lines: list[list[Any]] = []
    for event in tracker.events:
        kind, text = event.get("event"), event.get("text")
        if kind in ("user", "bot") and text and not str(text).startswith("/"):
            lines.append(["person" if kind == "user" else "bot", str(text), float(event.get("timestamp") or 0)])
    return lines[-limit:]


def summary(category: str, lang: str, topic: str | None, citations: list[str], latest: str) -> str:
    """One line an operator reads in the queue before opening the case."""
    what = category.replace("_", " ") if category else "asked for a person"
    quote = latest if len(latest) <= SUMMARY_QUOTE else latest[: SUMMARY_QUOTE - 1] + "…"
    parts = [what, f"language {lang}"]
    if topic:
        parts.append(f"topic {topic}")
    if citations:
        parts.append("cited " + ", ".join(citations))
    return "; ".join(parts) + (f'. Latest message: "{quote}"' if quote else "")


def directive(tracker: Tracker, category: str, lang: str, citations: list[str]) -> dict[str, Any]:
    latest = str(tracker.latest_message.get("text") or "")
    if latest.startswith("/"):
        latest = ""
    topic = tracker.get_slot("last_topic")
    return {"handoff": {
        "language": lang, "category": category, "topic": topic or "", "citations": citations,
        "summary": summary(category, lang, topic, citations, latest), "transcript": transcript(tracker),
    }}
