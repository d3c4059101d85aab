from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import services
from actions.feedback_store import FeedbackStore
from knowledge.answers.language import LanguageIdentifier
from knowledge.search.retriever import Retriever

TRACKERS = Path(__file__).parent / "trackers"
BOT = Path(__file__).resolve().parents[2] / "bot"


@pytest.fixture(scope="session")
def domain() -> dict[str, Any]:
    """The real domain, as the action server receives it."""
    from rasa.shared.core.domain import Domain

    from bot.runtime import domain_dir

    return Domain.load(str(domain_dir())).as_dict()


@pytest.fixture()
def svc(retriever: Retriever, urgency: Any, tmp_path: Path) -> services.Services:
    """The services each action instance receives, over the session's index and urgency model."""
    return services.Services(retriever, LanguageIdentifier(), FeedbackStore(tmp_path / "fb.sqlite3"), urgency)


@pytest.fixture()
def tracker() -> Callable[..., Tracker]:
    def load(name: str, **overrides: Any) -> Tracker:
        raw = json.loads((TRACKERS / f"{name}.json").read_text("utf-8"))
        raw["slots"].update(overrides.pop("slots", {}))
        if "text" in overrides:
            raw["latest_message"]["text"] = overrides.pop("text")
        raw.update(overrides)
        return Tracker.from_dict(raw)

    return load


@pytest.fixture()
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()
