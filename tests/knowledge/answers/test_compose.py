from __future__ import annotations

import pytest

from knowledge.answers import compose
from knowledge.corpus.model import Corpus
from knowledge.search.retriever import Hit, Retriever, SearchResult
from knowledge.vocab import document_id


@pytest.mark.parametrize("raw,number", [
    ("25", 25), ("art. 21", 21), ("٢٥", 25), ("۱۶", 16), ("93", 93), ("0", None), ("94", None),
    ("abc", None), (None, None),
])
def test_parse_article_number(raw: object, number: int | None) -> None:
    assert compose.parse_article_number(raw) == number


@pytest.mark.parametrize("lang,label,comment", [
    ("en", "Convention, art. 21", "CMW General Comment 5 (2021)"),
    ("es", "Convención, art. 21", "Observación general núm. 5 (2021) del Comité de Trabajadores Migratorios"),
    ("fr", "Convention, art. 21", "Observation générale n° 5 (2021) du Comité des travailleurs migrants"),
    ("ar", "الاتفاقية، المادة 21", "التعليق العام رقم 5 (2021) للجنة المعنية بالعمال المهاجرين"),
    ("pt", "Convention, art. 21", "CMW General Comment 5 (2021)"),
])
def test_citation_labels(lang: str, label: str, comment: str) -> None:
    assert compose.citation_label("icrmw:art21", lang) == label
    assert compose.citation_label("cmw-gc5:children", lang) == comment


def test_explain_article_in_each_language(corpus: Corpus) -> None:
    for lang, part_word in [("en", "Part IV"), ("es", "Parte IV"), ("fr", "Partie IV"),
                            ("ar", "الجزء الرابع")]:
        answer = compose.explain_article(corpus, 39, lang)
        assert answer.citations == ["icrmw:art39"] and answer.lang == lang
        assert corpus.get("icrmw:art39", lang).summary in answer.text
        assert part_word in answer.text
        # Part IV: the answer must say it only protects documented or regular migrants
        assert compose.phrases(lang)["scope_regular"] in answer.text


def _hit(corpus: Corpus, cid: str, score: float, lang: str) -> Hit:
    entry, meta = corpus.get(cid, lang), corpus.metas[cid]
    return Hit(cid, score, lang, entry.summary, entry.title, meta.source, meta.part, meta.protects)


def test_compose_states_scope_and_close_runners_up(corpus: Corpus) -> None:
    hits = [_hit(corpus, "icrmw:art21", 0.90, "en"), _hit(corpus, "cmw-gc1:documents", 0.89, "en"),
            _hit(corpus, "icrmw:art40", 0.80, "en")]
    answer = compose.compose(SearchResult("q", "en", hits, True, 0.8, hits), "en")
    assert answer.citations == ["icrmw:art21", "cmw-gc1:documents"]  # art40 is not close enough
    assert answer.text.startswith(corpus.get("icrmw:art21", "en").title + " (Convention, art. 21)")
    assert compose.phrases("en")["scope_all"] in answer.text
    assert "See also: " in answer.text and "(CMW General Comment 1 (2011))" in answer.text


def test_compose_in_arabic_for_a_part_four_article(corpus: Corpus) -> None:
    hits = [_hit(corpus, "icrmw:art40", 0.9, "ar")]
    answer = compose.compose(SearchResult("q", "ar", hits, True, 0.8, hits), "ar")
    assert "الاتفاقية، المادة 40" in answer.text
    assert compose.phrases("ar")["scope_regular"] in answer.text


def test_passport_question_is_answered_with_its_article(retriever: Retriever) -> None:
    answer = compose.answer_question(retriever, "my employer took my passport", "en")
    assert answer.covered and "icrmw:art21" in answer.citations + [
        h.id for h in retriever.search("my employer took my passport", "en", k=3).hits]


def test_answer_in_person_language(retriever: Retriever) -> None:
    answer = compose.answer_question(retriever, "¿Pueden mis hijos ir a la escuela?", "es")
    assert answer.lang == "es" and answer.covered
    top = answer.citations[0]
    assert retriever.corpus.get(top, "es").summary in answer.text


def test_not_covered_is_honest(retriever: Retriever) -> None:
    answer = compose.answer_question(retriever, "what is a good lasagna recipe", "fr")
    assert not answer.covered and answer.citations == []
    assert answer.text == compose.phrases("fr")["not_covered"]


def test_follow_up_uses_the_previous_question(retriever: Retriever) -> None:
    previous = "Can I study at a university or get vocational training in the country where I work?"
    alone = compose.answer_question(retriever, "and what about my children?", "en")
    follow = compose.answer_question(retriever, "and what about my children?", "en",
                                       previous_question=previous)
    assert follow.covered
    schooling = {"icrmw:art30", "icrmw:art45", "icrmw:art43"}
    assert schooling & set(follow.citations), (alone.citations, follow.citations)


@pytest.mark.parametrize("text,follow_up", [
    ("and what about my children?", True),
    ("¿y si no tenemos papeles?", True),
    ("وماذا عن أطفالي؟", True),
    ("那我的孩子呢？", True),
    ("แล้วลูกของฉันล่ะ", True),
    ("Can I study at a university or get vocational training in the country where I work?", False),
    # written without spaces: one or two "words" by whitespace, but full questions
    ("一个国家加入这个公约以后，还能退出吗？", False),
    ("นายจ้างจ่ายค่าแรงแรงงานหญิงพม่าน้อยกว่าผู้ชายพม่า ทั้งที่ทำงานเหมือนกันเป๊ะ ผิดไหม", False),
])
def test_what_reads_as_a_follow_up(text: str, follow_up: bool) -> None:
    assert compose.is_follow_up(text) is follow_up


def test_long_new_question_ignores_previous_context(retriever: Retriever) -> None:
    answer = compose.answer_question(
        retriever, "My employer has kept my passport for months and refuses to give it back to me",
        "en", previous_question="Can my children go to school?")
    assert answer.citations[0] in ("icrmw:art21", "cmw-gc1:documents")
    assert not {"icrmw:art30", "icrmw:art45"} & set(answer.citations)


@pytest.mark.parametrize("topic", list(compose.topic_questions()))
def test_every_topic_has_an_answer(retriever: Retriever, topic: str) -> None:
    answer = compose.answer_topic(retriever, topic, "ar")
    assert answer is not None and answer.covered and answer.lang == "ar"


def test_unknown_topic(retriever: Retriever) -> None:
    assert compose.answer_topic(retriever, "astrology", "en") is None


# (previous question, follow-up, provisions that answer the follow-up in that context); written
# for this test. Used to choose FOLLOW_UP_MARGIN (see compose.py).
FOLLOW_UPS = [
    ("can my children go to public school?", "and if we have no papers?", {"icrmw:art30"}),
    ("my employer took my passport", "what if he says it's for safekeeping?", {"icrmw:art21"}),
    ("can I join a trade union?", "and what if I am undocumented?", {"icrmw:art26", "icrmw:art40"}),
    ("do I get emergency medical care?", "and my wife?", {"icrmw:art28"}),
    ("can my family join me?", "what about my children?", {"icrmw:art44"}),
    ("I was arrested by the police", "can I call my consulate?", {"icrmw:art16", "icrmw:art23"}),
    ("can they expel me without a hearing?", "and what about my wages that are still owed?", {"icrmw:art22"}),
    ("is it legal that I am paid less than local workers?", "and for overtime?", {"icrmw:art25"}),
    ("¿pueden mis hijos ir a la escuela?", "¿y si no tenemos papeles?", {"icrmw:art30"}),
    ("¿me pueden quitar el pasaporte?", "¿y el permiso de trabajo?", {"icrmw:art21"}),
    ("mon employeur ne me paie pas autant que les nationaux", "et les heures supplémentaires ?", {"icrmw:art25"}),
    ("puis-je adhérer à un syndicat ?", "et si je suis sans papiers ?", {"icrmw:art26", "icrmw:art40"}),
    ("هل يحق لي العلاج في المستشفى؟", "وماذا عن أطفالي؟", {"icrmw:art28"}),
    ("هل يمكن أن تلتحق بي عائلتي؟", "وماذا عن زوجتي؟", {"icrmw:art44"}),
    ("do I have the right to a lawyer if arrested?", "and an interpreter?", {"icrmw:art18", "icrmw:art16"}),
    ("will I get social security benefits?", "and when I go back home?", {"icrmw:art27"}),
    ("can I change employers?", "what if I lose my job?", {"icrmw:art49", "icrmw:art51", "icrmw:art52"}),
]


def test_follow_ups_are_answered_in_context(retriever: Retriever) -> None:
    right = []
    for previous, text, relevant in FOLLOW_UPS:
        answer = compose.answer_question(retriever, text, "en", previous_question=previous)
        top = answer.citations[0] if answer.citations else None
        right.append(top is not None and document_id(top) in relevant)
    # measured 13 of 17 when FOLLOW_UP_MARGIN was chosen; the message alone gets 4 of 17
    assert sum(right) >= 12, [f[1] for f, ok in zip(FOLLOW_UPS, right, strict=True) if not ok]
