from __future__ import annotations

import pytest

from knowledge import vocab


def test_every_urgency_category_has_a_severity_and_the_fallback_too() -> None:
    assert set(vocab.SEVERITY) == {*vocab.URGENCY_CATEGORIES, vocab.FALLBACK_CATEGORY}
    assert all(rank > vocab.REQUEST_SEVERITY for rank in vocab.SEVERITY.values())


def test_answer_languages_are_recognised_languages() -> None:
    assert set(vocab.COMPLETE_LANGUAGES) <= set(vocab.SUPPORTED_LANGUAGES) <= vocab.KNOWN_LANGUAGES
    assert vocab.answer_language("hi") == "en" and vocab.answer_language("bn") == "bn"
    assert vocab.answer_language(None) == "en"


@pytest.mark.parametrize(("citation", "document"), [
    ("icrmw:art21", "icrmw:art21"), ("cmw-gc2:para12", "cmw-gc2"), ("sdg:10.7", "sdg:10.7"),
    ("local:hotline:para3", "local:hotline"), ("seed:2019-meeting:p2", "seed:2019-meeting"),
])
def test_document_id(citation: str, document: str) -> None:
    assert vocab.document_id(citation) == document


def test_background_documents() -> None:
    assert vocab.is_background("sdg:10.7") and not vocab.is_background("cmw-gc5:children")


@pytest.mark.parametrize(("text", "parts"), [
    ("One. Two! Three? Four", 4), ("واحد؟ اثنان. ثلاثة", 3), ("एक। दो", 2), ("ایک۔ دو", 2), ("一。 二", 2),
    ("a decimal 3.5 is not an end", 1),
])
def test_sentences_end_in_every_supported_script(text: str, parts: int) -> None:
    assert len(vocab.SENTENCE_END.split(text)) == parts
