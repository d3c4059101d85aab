"""The shipped safety guide and hotline directory, loaded once for the safety tests."""

from __future__ import annotations

import pytest

from knowledge.corpus.model import Corpus
from knowledge.safety import HotlineDirectory, SafetyGuide


@pytest.fixture(scope="session")
def guide(corpus: Corpus) -> SafetyGuide:
    return SafetyGuide.load(corpus=corpus)


@pytest.fixture(scope="session")
def directory() -> HotlineDirectory:
    return HotlineDirectory.load()
