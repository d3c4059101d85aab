"""What the actions need from the rest of the system, created once per action-server process.

Created lazily on first use (not at import) so that importing the actions is cheap and tests can
inject their own ``Services`` with ``use()``.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from actions.feedback_store import FeedbackStore
from knowledge.corpus import Corpus
from knowledge.langid import LanguageIdentifier
from knowledge.paths import REPO_DIR
from knowledge.retriever import Retriever
from knowledge.safety import HotlineDirectory
from knowledge.triage import UrgencyDetector


@dataclass
class Services:
    retriever: Retriever
    identifier: LanguageIdentifier
    feedback: FeedbackStore
    urgency: UrgencyDetector
    hotlines: HotlineDirectory = field(default_factory=HotlineDirectory.load)

    @property
    def corpus(self) -> Corpus:
        return self.retriever.corpus

    @classmethod
    def from_environment(cls) -> Services:
        var = Path(os.environ.get("RIGHTS_VAR_DIR", REPO_DIR / "var"))
        retriever = Retriever()
        retriever.warm_up()
        urgency = UrgencyDetector(retriever.embedder, folder=Path(retriever.folder) / "triage")
        urgency.warm_up()
        return cls(retriever, LanguageIdentifier(), FeedbackStore(var / "feedback.sqlite3"), urgency)


_lock = threading.Lock()
_current: Services | None = None


def get() -> Services:
    global _current
    with _lock:
        if _current is None:
            _current = Services.from_environment()
        return _current


def use(services: Services | None) -> None:
    """Install ``services`` for the actions (tests), or ``None`` to go back to the default."""
    global _current
    with _lock:
        _current = services
