"""After intent classification, a question waits for the vector of its follow-up reading (the
message joined to the previous question) that ``MultilingualSentenceFeaturizer`` started on a
second thread, and passes it on to the action server as ``FOLLOW_UP_VECTOR`` with the text it
stands for. Anything else stops that computation instead of waiting for it.

An embedding that fails or takes too long is logged and dropped: the action server then embeds
the joined text itself, so the message is still answered.
"""

from __future__ import annotations

import logging
from concurrent.futures import TimeoutError as FutureTimeout

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.plugins.component import StatelessComponent
from bot.plugins.featurizer import PENDING_FOLLOW_UP
from knowledge.embedding.embedders import FOLLOW_UP_VECTOR, pack_vector

QUESTION_INTENT = "ask_question"
# A query takes about 15 ms here; a wait this long means the embedding thread is stuck.
WAIT_SECONDS = 10.0

logger = logging.getLogger(__name__)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class FollowUpVector(StatelessComponent):
    """After intent classification: a question waits for the joined reading's vector that the
    featurizer started, and passes it on; for anything else it is stopped, not waited for."""

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            started = message.get(PENDING_FOLLOW_UP)
            if started is None:
                continue
            message.data.pop(PENDING_FOLLOW_UP, None)
            if (message.get(INTENT) or {}).get(INTENT_NAME_KEY) != QUESTION_INTENT:
                started.discard()  # on a busy server the other messages need the core
                continue
            try:
                vector = started.vector.result(timeout=WAIT_SECONDS)
            except FutureTimeout:
                started.discard()
                logger.warning("follow-up embedding took over %.0f s; the action server embeds it", WAIT_SECONDS)
                continue
            except Exception as exc:  # an embedding error must not fail the parse of the message
                logger.warning("follow-up embedding failed (%s); the action server embeds it", type(exc).__name__)
                continue
            packed = pack_vector(vector[0], started.info)
            message.set(FOLLOW_UP_VECTOR, {**packed, "query": started.query}, add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data
