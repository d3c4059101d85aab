from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import actions, services
from knowledge.answers.follow_up import follow_up_query
from knowledge.embedding.embedders import FOLLOW_UP_VECTOR, QUERY_VECTOR, pack_vector
from knowledge.safety.guide import default_guide
from knowledge.vocab import answer_language

TrackerFactory = Callable[..., Tracker]


def _slots(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def _responses(dispatcher: CollectingDispatcher) -> list[str]:
    return [m["response"] for m in dispatcher.messages if m.get("response")]


def test_the_server_registers_exactly_the_domains_actions(domain: dict[str, Any]) -> None:
    names = {cls.__new__(cls).name() for cls in actions.ACTIONS}  # name() needs no services
    assert names == set(domain["actions"])


def test_every_response_the_actions_use_exists_in_four_languages(domain: dict[str, Any]) -> None:
    used = ["utter_disclaimer", "utter_greet", "utter_not_covered", "utter_ask_feedback",
            "utter_ask_article_number", "utter_article_unknown", "utter_feedback_thanks",
            "utter_data_deleted", "utter_language_set", "utter_choose_language", "utter_topics",
            "utter_urgent_safety", "utter_human_handoff", "utter_media_unsupported"]
    for name in used:
        variants = domain["responses"][name]
        langs = {c["value"] for v in variants for c in v.get("condition", []) if c["name"] == "language"}
        assert {"es", "fr", "ar"} <= langs, name
        assert any(not v.get("condition") for v in variants), f"{name} has no default (English)"


def test_answer_question_cites_in_the_persons_language(
    svc: services.Services, tracker: TrackerFactory, dispatcher: CollectingDispatcher,
    domain: dict[str, Any],
) -> None:
    events = actions.ActionAnswerQuestion(svc).run(dispatcher, tracker("question_es"), domain)
    answer = next(m for m in dispatcher.messages if m.get("text"))
    assert answer["custom"]["citations"][0] == "icrmw:art21"
    assert answer["custom"]["lang"] == "es"
    assert "Convención, art. 21" in answer["text"]
    assert svc.corpus.get("icrmw:art21", "es").summary in answer["text"]
    # first answer of the conversation: the not-legal-advice note comes once, first
    assert _responses(dispatcher)[0] == "utter_disclaimer"
    slots = _slots(events)
    assert slots["disclaimer_shown"] is True and slots["last_citations"][0] == "icrmw:art21"


def test_disclaimer_is_not_repeated(
    svc: services.Services, tracker: TrackerFactory, dispatcher: CollectingDispatcher,
    domain: dict[str, Any],
) -> None:
    t = tracker("question_es", slots={"disclaimer_shown": True})
    actions.ActionAnswerQuestion(svc).run(dispatcher, t, domain)
    assert "utter_disclaimer" not in _responses(dispatcher)


def test_follow_up_uses_context(
    svc: services.Services, tracker: TrackerFactory, dispatcher: CollectingDispatcher,
    domain: dict[str, Any],
) -> None:
    actions.ActionAnswerQuestion(svc).run(dispatcher, tracker("follow_up_en"), domain)
    answer = next(m for m in dispatcher.messages if m.get("text"))
    assert {"icrmw:art30", "icrmw:art45", "icrmw:art43"} & set(answer["custom"]["citations"])


def test_out_of_scope_says_not_covered(
    svc: services.Services, tracker: TrackerFactory, dispatcher: CollectingDispatcher,
    domain: dict[str, Any],
) -> None:
    events = actions.ActionAnswerQuestion(svc).run(dispatcher, tracker("out_of_scope_en"), domain)
    assert _responses(dispatcher) == ["utter_not_covered"]
    assert not any(m.get("text") for m in dispatcher.messages)
    assert _slots(events)["last_citations"] == []


def test_topic_button(
    svc: services.Services, tracker: TrackerFactory, dispatcher: CollectingDispatcher,
    domain: dict[str, Any],
) -> None:
    actions.ActionAnswerQuestion(svc).run(dispatcher, tracker("topic_fr"), domain)
    answer = next(m for m in dispatcher.messages if m.get("text"))
    assert answer["custom"]["lang"] == "fr"
    assert "icrmw:art21" in answer["custom"]["citations"]


def test_explain_article_with_arabic_digits(
    svc: services.Services, tracker: TrackerFactory, dispatcher: CollectingDispatcher,
    domain: dict[str, Any],
) -> None:
    events = actions.ActionExplainArticle(svc).run(dispatcher, tracker("article_ar"), domain)
    answer = next(m for m in dispatcher.messages if m.get("text"))
    assert answer["custom"]["citations"] == ["icrmw:art16"]
    assert "الاتفاقية، المادة 16" in answer["text"]
    assert _slots(events)["article"] is None


@pytest.mark.parametrize("value,response", [
    ("120", "utter_article_unknown"), (None, "utter_ask_article_number"),
])
def test_explain_article_bad_number(
    svc: services.Services, tracker: TrackerFactory, dispatcher: CollectingDispatcher,
    domain: dict[str, Any], value: str | None, response: str,
) -> None:
    t = tracker("article_ar", slots={"article": value})
    t.latest_message["entities"] = [{"entity": "article", "value": value}] if value else []
    actions.ActionExplainArticle(svc).run(dispatcher, t, domain)
    assert _responses(dispatcher) == [response]


def test_answer_question_uses_the_vector_rasa_passed_on(
    svc: services.Services, tracker: TrackerFactory, dispatcher: CollectingDispatcher,
    domain: dict[str, Any], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Rasa's featurizer puts the message's query vector in the parse data; the action answers
    from it without embedding the message again."""
    t = tracker("question_es")
    text = t.latest_message["text"]
    t.latest_message[QUERY_VECTOR] = pack_vector(svc.retriever.embed(text), svc.retriever.embedder.info())

    def no_embedding(texts: list[str]) -> None:
        raise AssertionError(f"embedded again: {texts}")

    monkeypatch.setattr(svc.retriever.embedder, "embed_queries", no_embedding)
    actions.ActionAnswerQuestion(svc).run(dispatcher, t, domain)
    answer = next(m for m in dispatcher.messages if m.get("text"))
    assert answer["custom"]["citations"][0] == "icrmw:art21"


@pytest.mark.parametrize("stale", [False, True])
def test_a_follow_up_uses_the_joined_vector_rasa_passed_on(
    svc: services.Services, tracker: TrackerFactory, dispatcher: CollectingDispatcher,
    domain: dict[str, Any], monkeypatch: pytest.MonkeyPatch, stale: bool,
) -> None:
    """Rasa embeds a possible follow-up joined to the previous question; the action uses that
    vector only if it stands for exactly the text it would search."""
    previous, text = "¿pueden mis hijos ir a la escuela?", "¿y si no tenemos papeles?"
    t = tracker("question_es", text=text, slots={"last_question": previous})
    info = svc.retriever.embedder.info()
    joined = follow_up_query("¿me pueden quitar el pasaporte?" if stale else previous, text)
    t.latest_message[QUERY_VECTOR] = pack_vector(svc.retriever.embed(text), info)
    t.latest_message[FOLLOW_UP_VECTOR] = {**pack_vector(svc.retriever.embed(joined), info), "query": joined}
    embedded: list[str] = []
    real = svc.retriever.embedder.embed_queries

    def counting(texts: list[str]):  # type: ignore[no-untyped-def]
        embedded.extend(texts)
        return real(texts)

    monkeypatch.setattr(svc.retriever.embedder, "embed_queries", counting)
    actions.ActionAnswerQuestion(svc).run(dispatcher, t, domain)
    assert embedded == ([follow_up_query(previous, text)] if stale else [])
    answer = next(m for m in dispatcher.messages if m.get("text"))
    # education, read with the question before: art. 30, or level with it the joint general comment's
    # section saying the same (children's access to school whatever their parents' status)
    assert "icrmw:art30" in answer["custom"]["citations"][:2]


@pytest.mark.parametrize("packed", [
    {"embedder": "some-other-model/1.0", "f16": "AAAA"},  # another embedder's vector is not used
    {"embedder": None, "f16": 3},
    "not a vector",
])
def test_answer_question_embeds_itself_without_a_usable_vector(
    svc: services.Services, tracker: TrackerFactory, dispatcher: CollectingDispatcher,
    domain: dict[str, Any], packed: object,
) -> None:
    t = tracker("question_es")
    t.latest_message[QUERY_VECTOR] = packed
    actions.ActionAnswerQuestion(svc).run(dispatcher, t, domain)
    answer = next(m for m in dispatcher.messages if m.get("text"))
    assert answer["custom"]["citations"][0] == "icrmw:art21"


def test_set_language(
    svc: services.Services, tracker: TrackerFactory, dispatcher: CollectingDispatcher,
    domain: dict[str, Any],
) -> None:
    t = tracker("question_es", text="/choose_language", slots={"language": "es"})
    t.latest_message["entities"] = [{"entity": "language", "value": "ar"}]
    events = actions.ActionSetLanguage(svc).run(dispatcher, t, domain)
    assert events == [SlotSet("language", "ar"), SlotSet("language_chosen", True),
                      FollowupAction("utter_language_set")]
    assert dispatcher.messages == []  # confirmed by the follow-up, after the slot is set


def test_feedback_is_stored_without_text(
    svc: services.Services, tracker: TrackerFactory, dispatcher: CollectingDispatcher,
    domain: dict[str, Any],
) -> None:
    t = tracker("question_es", slots={"last_citations": ["icrmw:art21"]})
    t.latest_message["entities"] = [{"entity": "helpful", "value": "no"}]
    actions.ActionRecordFeedback(svc).run(dispatcher, t, domain)
    assert svc.feedback.counts() == {"not_helpful": 1}
    raw = svc.feedback.path.read_bytes()
    assert b"pasaporte" not in raw and b"pseudo-3f2a9c" in raw
    assert _responses(dispatcher) == ["utter_feedback_thanks"]


def test_delete_my_data_removes_feedback(
    svc: services.Services, tracker: TrackerFactory, dispatcher: CollectingDispatcher,
    domain: dict[str, Any],
) -> None:
    svc.feedback.record("pseudo-3f2a9c", True, "es", ["icrmw:art21"])
    svc.feedback.record("someone-else", True, "en", [])
    events = actions.ActionDeleteMyData(svc).run(dispatcher, tracker("question_es"), domain)
    assert svc.feedback.counts() == {"helpful": 1}
    assert _slots(events)["last_question"] is None
    assert _responses(dispatcher) == ["utter_data_deleted"]


def test_answer_language_helper() -> None:
    assert answer_language("pt") == "en" and answer_language("ar") == "ar"


def _custom(dispatcher: CollectingDispatcher, key: str) -> Any:
    return next(m["custom"][key] for m in dispatcher.messages if (m.get("custom") or {}).get(key) is not None)


def test_triage_gives_safety_steps_cites_and_hands_over(
    svc: services.Services, tracker: TrackerFactory, dispatcher: CollectingDispatcher, domain: dict[str, Any],
) -> None:
    events = actions.ActionTriage(svc).run(dispatcher, tracker("urgent_en"), domain)
    first = dispatcher.messages[0]
    assert first["custom"]["citations"] and "icrmw:art16" in first["custom"]["citations"]
    assert "Local emergency services" in first["text"]
    assert _responses(dispatcher) == ["utter_urgent_safety"], "then the offer to talk to a person"
    handoff = _custom(dispatcher, "handoff")
    assert handoff["category"] == "detention" and handoff["language"] == "en"
    assert "icrmw:art16" in handoff["citations"] and handoff["summary"].startswith("Detention; writes in English")
    assert handoff["topic"] == svc.corpus.get("icrmw:art16", "en").title
    assert [line[:2] for line in handoff["transcript"]] == [
        ["person", "hello"], ["bot", "Hello! I can tell you what the UN Migrant Workers Convention says."],
        ["person", "the police arrested me an hour ago and I am in a cell now, they want me to sign a paper "
                   "I cannot read"]], "button payloads are not part of the transcript"
    assert _slots(events)["urgency"] == "detention"


def test_an_emergency_worded_as_a_question_gets_triage(
    svc: services.Services, tracker: TrackerFactory, dispatcher: CollectingDispatcher, domain: dict[str, Any],
) -> None:
    t = tracker("urgent_en", latest_message={"text": "my boss locked us inside the factory and we cannot get out, "
                                                     "what can we do?", "intent": {"name": "ask_question"},
                                             "entities": []})
    actions.ActionAnswerQuestion(svc).run(dispatcher, t, domain)
    assert _custom(dispatcher, "handoff")["category"] in {"locked_in", "trafficking"}


def test_a_question_about_the_rules_is_not_an_emergency(
    svc: services.Services, tracker: TrackerFactory, dispatcher: CollectingDispatcher, domain: dict[str, Any],
) -> None:
    t = tracker("urgent_en", latest_message={"text": "my friend was arrested last year, what are the rules?",
                                             "intent": {"name": "ask_question"}, "entities": []})
    actions.ActionAnswerQuestion(svc).run(dispatcher, t, domain)
    assert not any((m.get("custom") or {}).get("handoff") for m in dispatcher.messages)


def test_request_human_hands_over_with_the_context(
    svc: services.Services, tracker: TrackerFactory, dispatcher: CollectingDispatcher, domain: dict[str, Any],
) -> None:
    t = tracker("urgent_en", slots={"last_citations": ["icrmw:art21"], "last_topic": "documents"},
                latest_message={"text": "can I talk to a real person", "intent": {"name": "request_human"},
                                "entities": []})
    actions.ActionHandoff(svc).run(dispatcher, t, domain)
    assert _responses(dispatcher) == ["utter_human_handoff"]
    handoff = _custom(dispatcher, "handoff")
    assert handoff["citations"] == ["icrmw:art21"] and handoff["topic"] == "documents"
    assert handoff["summary"].startswith("Asked for a person")


def test_delete_my_data_asks_the_gateway_to_forget(
    svc: services.Services, tracker: TrackerFactory, dispatcher: CollectingDispatcher, domain: dict[str, Any],
) -> None:
    actions.ActionDeleteMyData(svc).run(dispatcher, tracker("question_es"), domain)
    assert _custom(dispatcher, "forget") is True


def test_unchanged_slots_are_not_set_again(
    svc: services.Services, tracker: TrackerFactory, dispatcher: CollectingDispatcher,
    domain: dict[str, Any],
) -> None:
    first = actions.ActionAnswerQuestion(svc).run(dispatcher, tracker("question_es"), domain)
    state = {**_slots(first), "language": "es", "disclaimer_shown": True}
    again = actions.ActionAnswerQuestion(svc).run(CollectingDispatcher(), tracker("question_es", slots=state), domain)
    assert again == []  # the same question again: every slot already holds its value
    assert "last_topic" not in _slots(first)  # None, as it already was


def _said(dispatcher: CollectingDispatcher) -> str:
    return "\n".join(str(m.get("text") or "") for m in dispatcher.messages)


def _no_case(dispatcher: CollectingDispatcher) -> bool:
    return not any((m.get("custom") or {}).get("handoff") for m in dispatcher.messages)


@pytest.mark.parametrize("text", ["my visa expired last month", "mi jefe no me paga desde hace dos meses"])
def test_rasa_calling_it_urgent_is_not_enough_for_the_danger_steps(
    svc: services.Services, tracker: TrackerFactory, dispatcher: CollectingDispatcher, domain: dict[str, Any],
    text: str,
) -> None:
    """The intent says "urgent"; the detector finds no danger now: an answer, no steps, no case."""
    t = tracker("urgent_en", latest_message={"text": text, "intent": {"name": "urgent"}, "entities": []})
    events = actions.ActionTriage(svc).run(dispatcher, t, domain)
    assert _no_case(dispatcher)
    assert "utter_urgent_safety" not in _responses(dispatcher)
    assert "If you are in danger" not in _said(dispatcher) and "emergency number" not in _said(dispatcher)
    assert "urgency" not in _slots(events)


@pytest.mark.parametrize("text", ["my employer keeps my passport, is this allowed?",
                                  "my boss hasnt paid me for two months",
                                  "my visa expired last month, what are my rights"])
def test_a_common_situation_that_needs_help_soon_gets_the_answer_and_where_to_get_help(
    svc: services.Services, tracker: TrackerFactory, dispatcher: CollectingDispatcher, domain: dict[str, Any],
    text: str,
) -> None:
    t = tracker("urgent_en", latest_message={"text": text, "intent": {"name": "ask_question"}, "entities": []})
    actions.ActionAnswerQuestion(svc).run(dispatcher, t, domain)
    assert _no_case(dispatcher) and "utter_urgent_safety" not in _responses(dispatcher)
    offer = dispatcher.messages[-1]
    assert offer["text"].startswith("Where to get help: ") and "Local emergency services" not in offer["text"]
    assert offer["buttons"] == [{"title": "Talk to a person", "payload": "/request_human"}]
    assert "utter_ask_feedback" not in _responses(dispatcher), "offered help, not asked for feedback"


@pytest.mark.parametrize("lang,name,text", [
    ("bn", "Bengali", "পুলিশ এইমাত্র আমাকে ধরে নিয়ে গেছে, আমি থানায় আটকে আছি"),  # the police just took me, held there
    ("ne", "Nepali", "पुलिसले मलाई अहिले समात्यो, म थानामा छु, के गर्ने"),  # the police caught me now, I am at the station
    ("ur", "Urdu", "پولیس نے ابھی مجھے پکڑ لیا ہے، میں تھانے میں بند ہوں"),  # the police just caught me, locked up
    ("tl", "Tagalog", "hinuli ako ng pulis ngayon lang, nakakulong ako sa presinto"),  # just arrested, locked up
    ("id", "Indonesian", "saya baru saja ditangkap polisi, sekarang ditahan di kantor polisi"),  # arrested, held
])
def test_an_emergency_gets_the_steps_in_the_persons_language(
    svc: services.Services, tracker: TrackerFactory, dispatcher: CollectingDispatcher, domain: dict[str, Any],
    lang: str, name: str, text: str,
) -> None:
    t = tracker("urgent_en", latest_message={"text": text, "intent": {"name": "urgent"}, "entities": []},
                slots={"language": lang})
    actions.ActionTriage(svc).run(dispatcher, t, domain)
    handoff = _custom(dispatcher, "handoff")
    assert handoff["language"] == lang and f"writes in {name}" in handoff["summary"]
    assert handoff["category"] == "detention" and handoff["topic"]
    heading = default_guide().situations["detention"].texts[lang].heading
    assert dispatcher.messages[0]["text"].startswith(heading), dispatcher.messages[0]["text"]


def test_a_hindi_emergency_is_recorded_in_hindi_with_the_steps_in_english_saying_why(
    svc: services.Services, tracker: TrackerFactory, dispatcher: CollectingDispatcher, domain: dict[str, Any],
) -> None:
    # the police just caught me, they are holding me at the station
    text = "पुलिस ने अभी मुझे पकड़ लिया है, थाने में बंद करके रखा है, क्या करूँ"
    t = tracker("urgent_en", latest_message={"text": text, "intent": {"name": "urgent"}, "entities": []})
    actions.ActionTriage(svc).run(dispatcher, t, domain)
    handoff = _custom(dispatcher, "handoff")
    assert handoff["language"] == "hi" and "writes in Hindi" in handoff["summary"]
    assert dispatcher.messages[0]["text"].startswith("(We cannot write this in Hindi yet, so here it is in English.)")


# --- the person's country (issue 14) -------------------------------------------------------------


def _texts(dispatcher: CollectingDispatcher) -> list[str]:
    return [m["text"] for m in dispatcher.messages if m.get("text")]


def test_an_answer_says_whether_the_convention_binds_the_persons_country(
    svc: services.Services, tracker: TrackerFactory, dispatcher: CollectingDispatcher, domain: dict[str, Any],
) -> None:
    actions.ActionAnswerQuestion(svc).run(dispatcher, tracker("question_es", slots={"country": "SA"}), domain)
    answer = _texts(dispatcher)[0]
    assert "Arabia Saudita: este país no ha ratificado la Convención" in answer
    assert not any("buttons" in m and m["buttons"] and "inform_country" in m["buttons"][0]["payload"]
                   for m in dispatcher.messages)  # the country is known: not asked


def test_without_a_country_the_answer_says_who_is_bound_and_asks_once(
    svc: services.Services, tracker: TrackerFactory, dispatcher: CollectingDispatcher, domain: dict[str, Any],
) -> None:
    events = actions.ActionAnswerQuestion(svc).run(dispatcher, tracker("question_es"), domain)
    assert "La Convención solo obliga a los 60 Estados" in _texts(dispatcher)[0]
    ask = next(m for m in dispatcher.messages if m.get("buttons") and "inform_country" in m["buttons"][0]["payload"])
    assert ask["text"].startswith("¿En qué país trabaja?")
    assert ask["buttons"][0] == {"title": "España", "payload": '/inform_country{"country":"ES"}'}
    assert _slots(events)["country_asked"] is True
    again = CollectingDispatcher()
    actions.ActionAnswerQuestion(svc).run(again, tracker("question_es", slots={"country_asked": True}), domain)
    assert not any(m.get("buttons") for m in again.messages if "inform_country" in str(m.get("buttons")))


@pytest.mark.parametrize("text,expected", [
    ("¿Omán ratificó la convención?", "Omán: este país no ha ratificado la Convención"),
    ("¿cuántos países la ratificaron?", "Hay 60 Estados partes en la Convención"),
    ("¿qué países la ratificaron?", "Los Estados partes (al 21 de febrero de 2025), por región:"),
])
def test_direct_questions_about_ratification(
    svc: services.Services, tracker: TrackerFactory, dispatcher: CollectingDispatcher, domain: dict[str, Any],
    text: str, expected: str,
) -> None:
    entities = [{"entity": "country", "value": "OM"}] if "Omán" in text else []
    message = {"text": text, "intent": {"name": "ask_ratification", "confidence": 0.9}, "entities": entities}
    actions.ActionRatification(svc).run(dispatcher, tracker("question_es", latest_message=message), domain)
    assert expected in "\n".join(_texts(dispatcher))


def test_a_country_button_answers_for_that_country(
    svc: services.Services, tracker: TrackerFactory, dispatcher: CollectingDispatcher, domain: dict[str, Any],
) -> None:
    message = {"text": '/inform_country{"country":"SN"}', "intent": {"name": "inform_country", "confidence": 1.0},
               "entities": [{"entity": "country", "value": "SN"}]}
    actions.ActionRatification(svc).run(dispatcher, tracker("question_es", latest_message=message), domain)
    assert _texts(dispatcher)[-1].startswith(
        "Senegal: este país es parte de la Convención (desde el 9 de junio de 1999)")


def test_delete_my_data_forgets_the_country(
    svc: services.Services, tracker: TrackerFactory, dispatcher: CollectingDispatcher, domain: dict[str, Any],
) -> None:
    events = actions.ActionDeleteMyData(svc).run(dispatcher, tracker("question_es", slots={"country": "OM"}), domain)
    assert _slots(events)["country"] is None and _slots(events)["country_asked"] is False


def test_saying_where_one_works_with_a_question_gets_the_question_answered(
    svc: services.Services, tracker: TrackerFactory, dispatcher: CollectingDispatcher, domain: dict[str, Any],
) -> None:
    """Seen: "أعمل في الكويت والكفيل أخذ جوازي" (classified inform_country) got only Kuwait's status."""
    message = {"text": "أعمل في الكويت والكفيل أخذ جوازي", "intent": {"name": "inform_country", "confidence": 0.8},
               "entities": [{"entity": "country", "value": "KW"}]}
    actions.ActionRatification(svc).run(
        dispatcher, tracker("question_es", latest_message=message, slots={"language": "ar"}), domain)
    answer = _texts(dispatcher)[0]
    assert "(الاتفاقية، المادة 21)" in answer.split("\n")[0]
    assert "الكويت: لم تصدّق هذه الدولة على الاتفاقية" in answer
    only_where = CollectingDispatcher()
    message = {**message, "text": "أعمل في الكويت"}
    actions.ActionRatification(svc).run(only_where, tracker("question_es", latest_message=message), domain)
    assert _texts(only_where)[0].startswith("Kuwait: este país no ha ratificado")


def test_a_number_inside_a_sentence_is_not_a_request_for_that_article(
    svc: services.Services, tracker: TrackerFactory, dispatcher: CollectingDispatcher, domain: dict[str, Any],
) -> None:
    """Seen: "...ما بتعطيني معاشي من 3 شهور" (no salary for 3 months), read as ask_article with
    the number 3, got article 3 (who the Convention does not cover)."""
    message = {"text": "انا شغالة في لبنان والمدام ما بتعطيني معاشي من 3 شهور",
               "intent": {"name": "ask_article", "confidence": 0.6}, "entities": [{"entity": "article", "value": "3"}]}
    actions.ActionExplainArticle(svc).run(
        dispatcher, tracker("question_es", latest_message=message, slots={"language": "ar"}), domain)
    assert "المادة 3،" not in _texts(dispatcher)[0].split("\n")[0]
    asked = CollectingDispatcher()
    message = {**message, "text": "المادة 3"}
    actions.ActionExplainArticle(svc).run(asked, tracker("question_es", latest_message=message,
                                                          slots={"language": "ar"}), domain)
    assert "(الاتفاقية، المادة 3، الجزء الأول)" in _texts(asked)[0].split("\n")[0]
