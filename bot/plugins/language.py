"""A Rasa NLU component that works out the conversation's answer language inside Rasa.

It reads the conversation's ``language`` and ``language_chosen`` slots from the tracker Rasa
passes to NLU components, decides the language after this message (``ConversationLanguage``:
detected, sticky, or chosen) and, only when that differs from the slot, adds a
``conversation_language`` entity that the slot maps from. Replies rendered by Rasa (responses
conditioned on the slot) then come in the right language without a call to the action server.
Only imported by Rasa (``bot/config.yml``).
"""

from __future__ import annotations

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.plugins.component import StatelessComponent
from knowledge.answers.language import ConversationLanguage
from knowledge.vocab import COMPLETE_LANGUAGES

ENTITY = "conversation_language"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class ConversationLanguageExtractor(StatelessComponent):
    """Adds the ``conversation_language`` entity when a message changes the answer language."""

    def __init__(self) -> None:
        self._languages = ConversationLanguage(COMPLETE_LANGUAGES)

    def process(self, messages: list[Message], tracker: DialogueStateTracker | None = None) -> list[Message]:
        # A parse outside a conversation (``rasa test``, the held-out intent evaluation) has an
        # empty tracker: there is no conversation language to speak of, so nothing is added.
        if tracker is None or not tracker.events:
            return messages
        current = tracker.get_slot("language")
        chosen = bool(tracker.get_slot("language_chosen"))
        for message in messages:
            lang = self._languages.after(str(message.get(TEXT) or ""), current, chosen)
            if lang != current:
                entity = {"entity": ENTITY, "value": lang, "extractor": type(self).__name__}
                message.set(ENTITIES, [*message.get(ENTITIES, []), entity], add_to_output=True)
        return messages
