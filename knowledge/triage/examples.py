"""The labelled messages the urgency model learns from: ``content/data/urgent.yaml``.

Per language, urgent messages by category and near misses by topic ("can madam stop me going out
on my day off" beside "madam locks me in"): near misses are classes of their own, which separates
them better than one "not urgent" class.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from knowledge.settings import DATA_DIR
from knowledge.triage.errors import TriageError
from knowledge.vocab import URGENCY_CATEGORIES

DATA_FILE = DATA_DIR / "urgent.yaml"
# Class labels: an urgent category or a near-miss topic, kept apart by a prefix.
URGENT_PREFIX, NOT_URGENT_PREFIX = "U:", "N:"


@dataclass(frozen=True)
class Example:
    """One message of ``urgent.yaml``. ``topic`` is the category (urgent) or the near-miss topic.

    ``position`` is the index within its list: the same scenario written in several languages sits at
    the same position, so folds by position keep every translation of a scenario on one side.
    """

    text: str
    lang: str
    urgent: bool
    topic: str
    position: int

    @property
    def label(self) -> str:
        return (URGENT_PREFIX if self.urgent else NOT_URGENT_PREFIX) + self.topic


def load_examples(path: Path = DATA_FILE) -> list[Example]:
    """Read and validate the urgency data; errors name the place to fix."""
    try:
        raw = yaml.safe_load(Path(path).read_text("utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise TriageError(f"cannot read the urgency data {path}: {exc}") from exc
    if not isinstance(raw, dict) or not raw:
        raise TriageError(f"{path}: expected a mapping of language code -> urgent / not_urgent")
    out: list[Example] = []
    for lang, sections in raw.items():
        if not isinstance(sections, dict) or set(sections) != {"urgent", "not_urgent"}:
            raise TriageError(f"{path}: language {lang!r} needs exactly the keys urgent and not_urgent")
        for section, urgent in (("urgent", True), ("not_urgent", False)):
            out.extend(_section(f"{path}: {lang}.{section}", str(lang), urgent, sections[section]))
    if not any(e.urgent for e in out) or all(e.urgent for e in out):
        raise TriageError(f"{path}: needs both urgent and not_urgent messages")
    return out


def _section(where: str, lang: str, urgent: bool, topics: object) -> list[Example]:
    if not isinstance(topics, dict):
        raise TriageError(f"{where} must map a category to a list of messages")
    out: list[Example] = []
    for topic, messages in topics.items():
        if urgent and topic not in URGENCY_CATEGORIES:
            raise TriageError(f"{where}.{topic} is not one of {', '.join(URGENCY_CATEGORIES)}")
        if not isinstance(messages, list) or not all(isinstance(m, str) and m.strip() for m in messages):
            raise TriageError(f"{where}.{topic} must be a list of non-empty strings")
        out.extend(Example(m, lang, urgent, str(topic), i) for i, m in enumerate(messages))
    return out
