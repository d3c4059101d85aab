"""A Rasa NLU component that finds the country a message names ("I work in Oman", "estoy en
España", "أعمل في الكويت") and adds it as a ``country`` entity (its ISO code), which the
``country`` slot maps from: the person's country is remembered for the conversation, changes when
they name another, and is cleared with their data. Buttons ("/inform_country{...}") carry the code
themselves. Only imported by Rasa (``bot/config.yml``).
"""

from __future__ import annotations

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.plugins.component import StatelessComponent
from knowledge.states import default_finder

ENTITY = "country"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class CountryExtractor(StatelessComponent):
    """Adds the ``country`` entity (ISO 3166 code) when a message names a country."""

    def __init__(self) -> None:
        self._finder = default_finder()

    def process(self, messages: list[Message], tracker: DialogueStateTracker | None = None) -> list[Message]:
        for message in messages:
            text = str(message.get(TEXT) or "")
            if text.startswith("/") or any(e.get("entity") == ENTITY for e in message.get(ENTITIES, [])):
                continue
            state = self._finder.find(text)
            if state is not None:
                entity = {"entity": ENTITY, "value": state.iso, "extractor": type(self).__name__}
                message.set(ENTITIES, [*message.get(ENTITIES, []), entity], add_to_output=True)
        return messages
