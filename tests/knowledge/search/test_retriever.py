"""Must-hit questions per language, written for these tests (not taken from the evaluation set)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from knowledge.search.retriever import Retriever

MUST_HIT = [
    ("en", "My employer took my passport and will not give it back. Is that legal?", "icrmw:art21"),
    ("en", "I have no papers. If I get sick, can the hospital refuse to treat me?", "icrmw:art28"),
    ("en", "Can the government expel all of us together in one group?", "icrmw:art22"),
    ("en", "I was arrested. Can I ask to speak to my consulate?", "icrmw:art16"),
    ("en", "Do I get the same wages and overtime as local workers?", "icrmw:art25"),
    ("es", "Mi patrón me quitó el pasaporte, ¿es legal?", "icrmw:art21"),
    ("es", "¿Mis hijos pueden ir a la escuela aunque no tengamos papeles?", "icrmw:art30"),
    ("es", "Me detuvieron, ¿tengo derecho a un intérprete y a un abogado?", "icrmw:art16"),
    ("es", "¿Puedo afiliarme a un sindicato siendo extranjero?", "icrmw:art26"),
    ("fr", "Mon employeur a confisqué mon passeport, a-t-il le droit ?", "icrmw:art21"),
    ("fr", "Est-ce que je peux envoyer mon argent à ma famille dans mon pays ?", "icrmw:art47"),
    ("fr", "Ma fille est née ici, peut-elle être enregistrée et avoir une nationalité ?", "icrmw:art29"),
    ("fr", "Peut-on m'expulser avec tout le groupe sans examiner mon cas ?", "icrmw:art22"),
    ("ar", "صاحب العمل أخذ جواز سفري ولا يريد أن يعيده، هل هذا قانوني؟", "icrmw:art21"),
    ("ar", "هل يحق لي الحصول على علاج طارئ في المستشفى إذا لم تكن لدي أوراق؟", "icrmw:art28"),
    ("ar", "هل يمكن أن يرحلونا جميعا دفعة واحدة؟", "icrmw:art22"),
    ("ar", "هل يحق لأطفالي الذهاب إلى المدرسة؟", "icrmw:art30"),
    ("pt", "Meu patrão pegou meu passaporte, ele pode fazer isso?", "icrmw:art21"),
    ("id", "Majikan menahan paspor saya, apakah itu boleh?", "icrmw:art21"),
    ("en", "Are children ever allowed to be kept in immigration detention?", "cmw-gc4"),
    ("en", "I work as a live-in maid and get no day off. What does the UN committee say?", "cmw-gc1"),
]


@pytest.mark.parametrize("lang,question,expected", MUST_HIT)
def test_must_hit_in_top_three(retriever: Retriever, lang: str, question: str, expected: str) -> None:
    result = retriever.search(question, lang=lang, k=3)
    assert result.covered, f"refused: best {result.ranked[:1]}"
    assert expected in [h.document for h in result.hits], [h.id for h in result.hits]


OUT_OF_SCOPE = [
    ("en", "what's a good recipe for banana bread"),
    ("en", "who will win the cricket world cup"),
    ("es", "¿Me recomiendas un buen celular barato?"),
    ("fr", "Quelle est la meilleure pizzeria de Marseille ?"),
    ("ar", "ما هو أفضل مسلسل هذا العام؟"),
]


# Roman Bengali and Roman Nepali, searched glossed as the assistant searches them: the scope model
# learns from the corpus's Roman questions too (they were refused as chat when it saw only the first,
# native-script question of each entry).
ROMAN_IN_SCOPE = [
    ("bn", "amar visa shesh hoye geche, ki korbo?"),
    ("bn", "malik 3 mas dhore beton dicche na"),
    ("ne", "mero visa sakiyo, ke garne?"),
]


@pytest.mark.parametrize("lang,question", ROMAN_IN_SCOPE)
def test_roman_questions_are_in_scope(retriever: Retriever, lang: str, question: str) -> None:
    from knowledge.answers.language import glossed

    assert retriever.search(glossed(question), lang=lang, k=3).covered


# Emergencies told, not asked: the scope model learns urgent situations as in scope (none of these
# is in its training data); the first was refused as small talk before it did.
TOLD_IN_SCOPE = [
    ("id", "Kakak saya ABK, kemarin ditendang mandor sampai berdarah, HP-nya disita. Mereka masih berlayar"),
    ("en", "My cousin on a fishing boat gets beaten by the captain, they stopped feeding him. Still at sea"),
]


@pytest.mark.parametrize("lang,question", TOLD_IN_SCOPE)
def test_emergencies_told_are_in_scope(retriever: Retriever, lang: str, question: str) -> None:
    assert retriever.search(question, lang=lang, k=3).covered


@pytest.mark.parametrize("lang,question", OUT_OF_SCOPE)
def test_out_of_scope_is_refused(retriever: Retriever, lang: str, question: str) -> None:
    result = retriever.search(question, lang=lang)
    assert not result.covered and result.hits == []


@pytest.mark.parametrize("lang", ["en", "es", "fr", "ar"])
def test_answer_text_in_the_persons_language(retriever: Retriever, lang: str) -> None:
    result = retriever.search("employer confiscated my passport", lang=lang, k=3)
    assert all(h.lang == lang for h in result.hits)
    top = result.hits[0]
    assert top.text == retriever.corpus.get(top.id, lang).summary


def test_language_without_corpus_falls_back_to_english(retriever: Retriever) -> None:
    result = retriever.search("Meu patrão pegou meu passaporte", lang="pt", k=1)
    assert result.hits[0].lang == "en"


def test_hits_carry_part_and_scope(retriever: Retriever) -> None:
    hit = retriever.search("Can I choose where to live in the country?", lang="en", k=5).hits
    art39 = [h for h in hit if h.id == "icrmw:art39"]
    assert art39 and art39[0].part == "IV" and art39[0].protects == "regular"


def test_empty_question(retriever: Retriever) -> None:
    result = retriever.search("   ", lang="en")
    assert not result.covered and result.hits == []


QUESTIONS_IN_VOTING_LANGUAGES = [
    ("en", "my boss keeps my passport and says i cannot leave"),
    ("es", "me echaron del trabajo y no me pagaron el último mes"),
    ("ar", "هل يحق لي أن أرسل مالي إلى أهلي؟"),
]


def test_a_language_that_does_not_vote_leaves_other_answers_unchanged(
    retriever: Retriever, tmp_path: Path
) -> None:
    """Adding a language outside ``voting_languages`` must not move an answer in any other
    language: the same index without that language's passages ranks the same, score for score."""
    from knowledge.corpus.model import Corpus
    from knowledge.search.indexer import Indexer

    quiet = [lang for lang in retriever.corpus.languages() if lang not in retriever.config.voting_languages]
    if not quiet:
        pytest.skip("every corpus language votes")
    kept = {key: e for key, e in retriever.corpus.entries.items() if key[1] not in quiet}
    folder = tmp_path / "index"
    shutil.copytree(retriever.folder, folder)  # same texts: nothing is embedded again
    indexer = Indexer(folder, retriever.embedder, corpus=Corpus(retriever.corpus.metas, kept),
                      ingest_dir=tmp_path / "none")
    indexer.build(progress=False)
    without = indexer.retriever()
    for lang, question in QUESTIONS_IN_VOTING_LANGUAGES:
        full = [(h.id, round(h.score, 5)) for h in retriever.rank(question, lang, k=10)]
        assert full == [(h.id, round(h.score, 5)) for h in without.rank(question, lang, k=10)]
    # and the quiet language's own questions are scored on its own view too
    lang = quiet[0]
    entry = next(e for e in retriever.corpus if e.lang == lang and e.questions)
    question = entry.questions[0]
    assert retriever.rank(question, lang, k=1)[0].score != without.rank(question, lang, k=1)[0].score
