"""The assistant's custom actions. Each reads the tracker, calls knowledge/, and says the result.

Every action receives the process's ``Services`` (built once by ``actions.server``) in its
constructor, as rasa-sdk's ``ActionExecutor.register_action`` allows for instances.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import handoff
from actions.services import Services
from channels.directives import forget_payload
from knowledge import safety, states
from knowledge.answers import compose
from knowledge.answers.follow_up import follow_up_query
from knowledge.answers.phrases import phrases
from knowledge.embedding.embedders import FOLLOW_UP_VECTOR, QUERY_VECTOR, TEXT_VECTOR, unpack_vector
from knowledge.triage import Urgency
from knowledge.triage.detector import CITATION_ONLY
from knowledge.vocab import ARTICLE_WORD, COMPLETE_LANGUAGES, FALLBACK_CATEGORY, answer_language

DomainDict = dict[str, Any]


def _text(tracker: Tracker) -> str:
    return str(tracker.latest_message.get("text") or "")


def _lang(tracker: Tracker) -> str:
    return answer_language(tracker.get_slot("language"))


def _entity(tracker: Tracker, name: str) -> str | None:
    value = next(tracker.get_latest_entity_values(name), None)
    return None if value is None else str(value)


def _country(tracker: Tracker) -> states.State | None:
    """The person's country: named in this message (the country extractor's entity, or a button),
    else remembered in the slot; None when unknown (answers then say which States are bound)."""
    return states.default_states().get(_entity(tracker, "country") or tracker.get_slot("country"))


# The countries offered as buttons when the assistant asks where the person works, per answer
# language: where many people writing in that language go to work.
COMMON_DESTINATIONS = {
    "en": ("AE", "SA", "QA", "KW", "MY", "GB", "US"),
    "es": ("ES", "US", "MX", "CL", "AR", "IT"),
    "fr": ("FR", "BE", "CA", "LB", "MA", "CI"),
    "ar": ("SA", "AE", "KW", "QA", "LB", "JO", "OM"),
}


def ask_country_once(dispatcher: CollectingDispatcher, tracker: Tracker, lang: str) -> list[EventType]:
    """Once per conversation, when an answer depends on it and it is not known: which country the
    person works in, with one tap for the common destinations (or they type it)."""
    if _country(tracker) is not None or tracker.get_slot("country_asked"):
        return []
    directory = states.default_states()
    buttons = []
    for iso in COMMON_DESTINATIONS.get(lang, COMMON_DESTINATIONS["en"]):
        state = directory.get(iso)
        if state is not None:
            buttons.append({"title": state.name(lang), "payload": f'/inform_country{{"country":"{iso}"}}'})
    dispatcher.utter_message(text=phrases(lang)["ask_country"], buttons=buttons)
    return [SlotSet("country_asked", True)]


def _changed(tracker: Tracker, events: list[EventType]) -> list[EventType]:
    """Drop slot events that set a slot to the value it already has: every event is stored,
    replayed on each message and sent with every action call for the rest of the conversation."""
    return [e for e in events if e.get("event") != "slot" or tracker.get_slot(e["name"]) != e["value"]]


class ServiceAction(Action):
    """An action with the action server's services; subclasses define ``name`` and ``run``."""

    def __init__(self, services: Services):
        self.services = services


def _disclaimer_once(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """The "information, not legal advice" note, once per conversation."""
    if tracker.get_slot("disclaimer_shown"):
        return []
    dispatcher.utter_message(response="utter_disclaimer")
    return [SlotSet("disclaimer_shown", True)]


class ActionSetLanguage(ServiceAction):
    """The person picked a language (button or "en español por favor")."""

    def name(self) -> str:
        return "action_set_language"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        chosen = _entity(tracker, "language")
        if chosen not in COMPLETE_LANGUAGES:
            dispatcher.utter_message(response="utter_choose_language")
            return []
        # Responses dispatched here would be rendered with the old slot value, before these
        # events apply; the confirmation runs as the next action, in the chosen language.
        return [SlotSet("language", chosen), SlotSet("language_chosen", True),
                FollowupAction("utter_language_set")]


class ActionGreet(ServiceAction):
    def name(self) -> str:
        return "action_greet"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        dispatcher.utter_message(response="utter_greet")
        return _disclaimer_once(dispatcher, tracker)


class ActionAnswerQuestion(ServiceAction):
    """Retrieve the provisions that answer the question and say them, cited, or say honestly
    that the Convention does not answer it."""

    def name(self) -> str:
        return "action_answer_question"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        svc = self.services
        text = _text(tracker)
        vector, found = None, None
        if not text.startswith("/"):
            # an emergency worded as a question ("they locked me in, what can I do?") gets triage;
            # one vector serves both checks
            vector = query_vector(svc, tracker)
            found = urgency(svc, tracker, vector)
            if found.urgent:
                return triage(svc, dispatcher, tracker, found.category or FALLBACK_CATEGORY, _lang(tracker))
        return answer(svc, dispatcher, tracker, vector, found)


def answer(svc: Services, dispatcher: CollectingDispatcher, tracker: Tracker, vector: np.ndarray | None,
           found: Urgency | None) -> list[EventType]:
    """Answer the latest message from the Convention, cited; when it describes a common situation
    that needs help soon (``found.soon``: a kept passport, unpaid wages, a permit ending), add where
    to get help and offer a person, without an alarm or a case."""
    lang = _lang(tracker)
    topic = _entity(tracker, "topic")
    text = _text(tracker)
    events = _disclaimer_once(dispatcher, tracker)
    country = _country(tracker)
    if topic and text.startswith("/"):
        found_answer = compose.answer_topic(svc.retriever, topic, lang, country)
        if found_answer is None:
            dispatcher.utter_message(response="utter_topics")
            return events
    else:
        previous = tracker.get_slot("last_question")
        # the country is for the status line, not for the search ("trabajo en España, no me pagan");
        # the query vector Rasa passed on is of this text already (bot/plugins/featurizer.py)
        query = states.question_text(text)
        found_answer = compose.answer_question(
            svc.retriever, query, lang, previous_question=previous, vector=vector,
            follow_up_vector=follow_up_vector(svc, tracker, previous, query), state=country,
        )
    soon = found is not None and found.soon
    if not found_answer.covered:
        dispatcher.utter_message(response="utter_not_covered")
        if soon:
            offer_help(svc, dispatcher, lang, _country(tracker))
        return [*events, SlotSet("last_citations", [])]
    dispatcher.utter_message(
        text=found_answer.text,
        json_message={"citations": found_answer.citations, "lang": found_answer.lang},
    )
    if soon:  # someone who needs help soon is offered it, not asked for feedback or their country
        offer_help(svc, dispatcher, lang, country)
    else:
        dispatcher.utter_message(response="utter_ask_feedback")
        events += ask_country_once(dispatcher, tracker, lang)
    return _changed(tracker, [
        *events,
        SlotSet("last_question", found_answer.query or text),
        SlotSet("last_citations", found_answer.citations),
        SlotSet("last_topic", topic),
    ])


def offer_help(svc: Services, dispatcher: CollectingDispatcher, lang: str, country: states.State | None) -> None:
    """One line on where to get help (the hotline directory, for the person's country if known) and
    a button to talk to a person."""
    line = safety.help_line(lang, country.iso if country else None, directory=svc.hotlines)
    dispatcher.utter_message(text=line.text, buttons=[{"title": line.button, "payload": "/request_human"}])


class ActionExplainArticle(ServiceAction):
    def name(self) -> str:
        return "action_explain_article"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        text = _text(tracker)
        if text and not text.startswith("/") and not ARTICLE_WORD.search(text) and not CITATION_ONLY.match(text):
            # a number inside a sentence ("ما بتعطيني معاشي من 3 شهور": no salary for 3 months) is
            # not a request for that article: answer the message as the question it is
            return ActionAnswerQuestion(self.services).run(dispatcher, tracker, domain)
        raw = _entity(tracker, "article") or tracker.get_slot("article")
        events = _disclaimer_once(dispatcher, tracker)
        if raw is None:
            dispatcher.utter_message(response="utter_ask_article_number")
            return events
        number = compose.parse_article_number(raw)
        if number is None:
            dispatcher.utter_message(response="utter_article_unknown")
            return [*events, SlotSet("article", None)]
        answer = compose.explain_article(self.services.corpus, number, _lang(tracker), _country(tracker))
        dispatcher.utter_message(
            text=answer.text, json_message={"citations": answer.citations, "lang": answer.lang}
        )
        return _changed(tracker, [*events, SlotSet("article", None), SlotSet("last_citations", answer.citations),
                                  SlotSet("last_question", answer.text.split("\n", 1)[0])])


class ActionRecordFeedback(ServiceAction):
    """Stores helpful / not helpful with the cited IDs, never the message text."""

    def name(self) -> str:
        return "action_record_feedback"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        value = (_entity(tracker, "helpful") or "").lower()
        if value in ("yes", "no"):
            helpful = value == "yes"
        else:  # typed feedback: the intent alone cannot say which way, so record nothing
            dispatcher.utter_message(response="utter_ask_feedback")
            return []
        self.services.feedback.record(
            tracker.sender_id, helpful, _lang(tracker), list(tracker.get_slot("last_citations") or [])
        )
        dispatcher.utter_message(response="utter_feedback_thanks")
        return []


class ActionTriage(ServiceAction):
    """An urgent situation: safety steps for it at once, with the rights that apply and a hotline,
    an offer to talk to a person, and a case in the hotline's queue."""

    def name(self) -> str:
        return "action_triage"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        svc = self.services
        text = _text(tracker)
        if text.startswith("/"):  # a button that means "this is urgent": no text to judge
            return triage(svc, dispatcher, tracker, FALLBACK_CATEGORY, _lang(tracker))
        # Rasa's intent says "urgent", but the detector judges the danger: "my visa expired last
        # month" sounds like trouble and is not an emergency, so it is answered, not triaged.
        vector = query_vector(svc, tracker)
        found = urgency(svc, tracker, vector)
        if found.urgent:
            return triage(svc, dispatcher, tracker, found.category or FALLBACK_CATEGORY, _lang(tracker))
        return answer(svc, dispatcher, tracker, vector, found)


def query_vector(svc: Services, tracker: Tracker) -> np.ndarray:
    """The latest message's query vector (of what it asks, without the countries it names): the one
    Rasa computed (in the parse data), or, if it is missing or from another embedder, embedded here."""
    retriever = svc.retriever
    vector = unpack_vector(tracker.latest_message.get(QUERY_VECTOR), retriever.embedder.info())
    return retriever.embed(states.question_text(_text(tracker))) if vector is None else vector


def follow_up_vector(svc: Services, tracker: Tracker, previous: str | None, text: str) -> np.ndarray | None:
    """The vector Rasa computed for the message joined to the previous question, if it was
    computed for exactly the text the answer would search (else the answer embeds it)."""
    packed = tracker.latest_message.get(FOLLOW_UP_VECTOR)
    if not previous or not isinstance(packed, dict) or packed.get("query") != follow_up_query(previous, text):
        return None
    return unpack_vector(packed, svc.retriever.embedder.info())


def text_vector(svc: Services, tracker: Tracker, query: np.ndarray) -> np.ndarray:
    """The whole latest message's vector, for the urgency check: ``query`` (its query vector) when
    the message names no country, else the one Rasa passed on, or embedded here. Without the
    country, "I work in a restaurant in Japan" read as "I work in a restaurant in", an emergency."""
    text = _text(tracker)
    vector = unpack_vector(tracker.latest_message.get(TEXT_VECTOR), svc.retriever.embedder.info())
    if vector is not None:
        return vector
    return query if states.question_text(text) == text else svc.retriever.embed(text)


def urgency(svc: Services, tracker: Tracker, vector: np.ndarray | None = None) -> Urgency:
    """Is the latest message an emergency? Rules are per language, so the text's own language
    (Hindi, Tagalog...) is used, not the language the answers are written in. ``vector`` is the
    message's query vector, if the caller has it."""
    text = _text(tracker)
    if not text or text.startswith("/"):
        return Urgency(False, None, 0.0, "payload")
    vector = text_vector(svc, tracker, query_vector(svc, tracker) if vector is None else vector)
    return svc.urgency.detect(text, svc.identifier.identify(text).lang, vector=vector)


def triage(svc: Services, dispatcher: CollectingDispatcher, tracker: Tracker, category: str,
           lang: str) -> list[EventType]:
    """The safety steps in the answer language ``lang``; for a person writing a language the
    assistant cannot write yet, in English with that language named, and lines that speak it first."""
    person = person_language(svc, tracker, lang)
    country = _country(tracker)
    message = safety.safety_message(category, lang if person in COMPLETE_LANGUAGES else person,
                                    country.iso if country else None, directory=svc.hotlines)
    dispatcher.utter_message(text=message.text, json_message={"citations": message.citations, "lang": message.lang})
    dispatcher.utter_message(response="utter_urgent_safety")
    dispatcher.utter_message(json_message=handoff.directive(
        tracker, category, person, message.citations, topic(svc, message.citations)))
    return [SlotSet("urgency", category), SlotSet("last_citations", message.citations)]


def person_language(svc: Services, tracker: Tracker, fallback: str) -> str:
    """The language the person writes (Nepali is recorded as Nepali, not as the English of the
    answer), from their latest message that is not a button; ``fallback`` when there is none."""
    said = [_text(tracker)] + [str(e.get("text") or "") for e in reversed(tracker.events) if e.get("event") == "user"]
    for text in said:
        if text and not text.startswith("/"):
            return svc.identifier.identify(text).lang or fallback
    return fallback


def topic(svc: Services, citations: list[str]) -> str:
    """What a case is about, for the hotline's queue: the title of the first provision cited."""
    for citation in citations:
        entry = svc.corpus.get(citation, "en")
        if entry is not None:
            return entry.title
    return ""


# The words of "I'm from Honduras and I work in Mexico", "je travaille au Liban", "أنا في الكويت":
# what is left of a message that only says where the person is, once the countries are taken out.
# Two other words or more ("...والكفيل أخذ جوازي": and the sponsor took my passport) carry a question.
SAYING_WHERE = frozenset("""
i i'm im am a an the in at to from and now here my country work working live living worker
soy de del en y trabajo trabajando vivo estoy ahora aqui aquí un una mi país pais
je j'habite suis du des au aux à a et travaille bosse habite maintenant ici un une mon pays
انا أنا في من و أعمل اعمل أشتغل اشتغل ساكن ساكنة الآن هنا بلدي
""".split())


class ActionRatification(ServiceAction):
    """"Has Oman ratified?", "does it apply in Spain?", "which countries ratified?", "how many?", and
    the person saying where they work: a direct, dated answer from the States file."""

    def name(self) -> str:
        return "action_ratification"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        lang = _lang(tracker)
        text = _text(tracker)
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if intent == "inform_country" and not text.startswith("/") and len(_beyond_where(text)) >= 2:
            # "أعمل في الكويت والكفيل أخذ جوازي": where they work, and a question: answer it as any
            # question (an emergency gets triage; the answer says whether the Convention binds there)
            return ActionAnswerQuestion(self.services).run(dispatcher, tracker, domain)
        events = _disclaimer_once(dispatcher, tracker)
        ask = "status" if text.startswith("/") else states.ratification_ask(text)
        named = states.default_states().get(_entity(tracker, "country"))
        if ask == "list" and named is None:
            dispatcher.utter_message(text=states.list_answer(lang))
        elif ask == "count" and named is None:
            dispatcher.utter_message(text=states.count_answer(lang))
        else:
            country = _country(tracker)
            dispatcher.utter_message(text=states.status_answer(country, lang))
            if country is None:
                events += ask_country_once(dispatcher, tracker, lang)
        return events


def _beyond_where(text: str) -> list[str]:
    """The words of a message besides the countries it names and the words saying where one is."""
    words = re.findall(r"[\w']+", states.question_text(text).lower())
    return [w for w in words if w not in SAYING_WHERE and not w.isdigit()]


class ActionHandoff(ServiceAction):
    """The person asked for a human: queue the conversation for the hotline and say so."""

    def name(self) -> str:
        return "action_handoff"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        svc = self.services
        citations = list(tracker.get_slot("last_citations") or [])
        dispatcher.utter_message(response="utter_human_handoff")
        dispatcher.utter_message(json_message=handoff.directive(
            tracker, str(tracker.get_slot("urgency") or ""), person_language(svc, tracker, _lang(tracker)),
            citations, topic(svc, citations)))
        return []


class ActionDeleteMyData(ServiceAction):
    """Deletes what the action server stores about this conversation, resets its slots, and asks
    the gateway (a ``forget`` directive) to delete the tracker events, cases, outbox and
    deduplication records once this reply is on its way."""

    def name(self) -> str:
        return "action_delete_my_data"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        self.services.feedback.forget(tracker.sender_id)
        dispatcher.utter_message(response="utter_data_deleted")
        dispatcher.utter_message(json_message=forget_payload())
        return [SlotSet("last_question", None), SlotSet("last_citations", []),
                SlotSet("last_topic", None), SlotSet("article", None), SlotSet("country", None),
                SlotSet("country_asked", False)]


# What the action server registers (actions.server); Rasa's domain names the same actions.
ACTIONS: tuple[type[ServiceAction], ...] = (
    ActionSetLanguage, ActionGreet, ActionAnswerQuestion, ActionExplainArticle, ActionRecordFeedback,
    ActionTriage, ActionHandoff, ActionDeleteMyData, ActionRatification,
)
