"""Each language folder (knowledge/content/languages/<lang>) against its glossary and its corpus:
the glossary's terms are the ones the texts use, no word for "illegal" describes people, and no
English is left in a language written in another script."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from knowledge.corpus.model import Corpus
from knowledge.settings import LANGUAGES_DIR
from knowledge.vocab import COMPLETE_LANGUAGES
from tests.knowledge.texts import strings

GLOSSARIES = sorted(p.parent.name for p in LANGUAGES_DIR.glob("*/glossary.yaml"))
# Quoted words are mentioned, not used: the Committee asks States not to say "अवैध" (illegal).
QUOTED = re.compile(r"\"[^\"]*\"|“[^”]*”|‘[^’]*’|«[^»]*»")
# Three Latin words in a row, outside brackets, in a text of a language written in another script.
ENGLISH_RUN = re.compile(r"[A-Za-z]{2,}(?:[\s,]+[A-Za-z]{2,}){2,}")
BRACKETED = re.compile(r"\([^)]*\)")


def _glossary(lang: str) -> dict[str, Any]:
    return yaml.safe_load((LANGUAGES_DIR / lang / "glossary.yaml").read_text("utf-8"))


def _our_texts(corpus: Corpus, lang: str) -> dict[str, str]:
    """Everything we write in ``lang`` (not the typical questions, which are how people write):
    corpus titles and summaries, safety texts, phrases and bot responses, by where they are."""
    texts = {f"{e.id} title": e.title for (_, entry_lang), e in corpus.entries.items() if entry_lang == lang}
    texts.update({f"{e.id} summary": e.summary for (_, entry_lang), e in corpus.entries.items() if entry_lang == lang})
    for name in ("safety.yaml", "phrases.yaml", "responses.yaml"):
        path = LANGUAGES_DIR / lang / name
        if path.exists():
            for i, text in enumerate(strings(yaml.safe_load(path.read_text("utf-8")))):
                texts[f"{name} #{i}"] = text
    return texts


def _words(text: str) -> list[str]:
    return re.findall(r"[^\s\"'“”‘’()\[\],.;:!?।|/-]+", QUOTED.sub(" ", text))


def test_every_complete_language_but_english_has_a_glossary_or_is_one_of_the_first_four() -> None:
    assert set(COMPLETE_LANGUAGES) - {"en", "es", "fr", "ar"} <= set(GLOSSARIES)


@pytest.mark.parametrize("lang", GLOSSARIES)
def test_glossary_names_the_terms_the_issue_asks_for(lang: str) -> None:
    glossary = _glossary(lang)
    concepts = {t["en"] for t in glossary["terms"]}
    assert {"migrant worker", "family member", "irregular/undocumented", "documented", "expulsion", "detention",
            "consulate", "trade union", "remittances", "recruitment agency", "employer", "State party",
            "ratify"} <= concepts
    for term in glossary["terms"]:
        assert term["use"] and all(isinstance(f, str) and f.strip() for f in term["use"]), term["en"]
    assert glossary["illegal_words"] and glossary["people_words"]


@pytest.mark.parametrize("lang", GLOSSARIES)
def test_corpus_uses_the_glossary_terms(corpus: Corpus, lang: str) -> None:
    texts = _our_texts(corpus, lang)
    everything = "\n".join(texts.values())
    unused = [t["en"] for t in _glossary(lang)["terms"] if not any(form in everything for form in t["use"])]
    assert not unused, f"{lang}: no text uses the glossary's term for {unused}"


@pytest.mark.parametrize("lang", GLOSSARIES)
def test_no_avoided_form_in_what_we_write(corpus: Corpus, lang: str) -> None:
    glossary = _glossary(lang)
    found = []
    for where, text in _our_texts(corpus, lang).items():
        for word in _words(text):
            for term in glossary["terms"]:
                for form in term.get("avoid") or ():
                    if word.startswith(form) and not any(word.startswith(e) for e in term.get("except") or ()):
                        found.append(f"{where}: {word} ({term['en']}: write {term['use'][0]})")
    assert not found, "\n".join(found[:20])


@pytest.mark.parametrize("lang", GLOSSARIES)
def test_no_word_for_illegal_describes_people(corpus: Corpus, lang: str) -> None:
    glossary = _glossary(lang)
    illegal = "|".join(map(re.escape, glossary["illegal_words"]))
    people = "|".join(map(re.escape, glossary["people_words"]))
    before_people = re.compile(rf"(?:{illegal})\s*(?:रूपमा\s*)?(?:बसेका|रहेका|भएका)?\s*(?:{people})")
    found = [f"{where}: {m.group(0)}" for where, text in _our_texts(corpus, lang).items()
             for m in before_people.finditer(QUOTED.sub(" ", text))]
    questions = [q for (_, entry_lang), e in corpus.entries.items() if entry_lang == lang for q in e.questions]
    found += [f"question: {q}" for q in questions if before_people.search(q)]
    assert not found, "\n".join(found)


@pytest.mark.parametrize("lang", [lang for lang in COMPLETE_LANGUAGES if lang in ("ar", "ne", "hi", "bn", "ur")])
def test_no_english_left_in_a_language_of_another_script(corpus: Corpus, lang: str) -> None:
    left = [f"{e.id}: {m.group(0)}" for (_, entry_lang), e in corpus.entries.items() if entry_lang == lang
            for text in (e.title, e.summary) for m in ENGLISH_RUN.finditer(BRACKETED.sub(" ", text))]
    assert not left, "\n".join(left)


@pytest.mark.parametrize("lang", [lang for lang in COMPLETE_LANGUAGES if lang != "en"])
def test_no_summary_is_the_english_one(corpus: Corpus, lang: str) -> None:
    same = [i for (i, entry_lang), e in corpus.entries.items()
            if entry_lang == lang and e.summary == corpus.entries[(i, "en")].summary]
    assert not same, same


SCRIPT_DIGITS = {"ne": "[०-९]", "hi": "[०-९]", "bn": "[০-৯]", "ur": "[٠-٩۰-۹]"}


@pytest.mark.parametrize("lang", [lang for lang in COMPLETE_LANGUAGES if lang in SCRIPT_DIGITS])
def test_no_digits_of_the_script(lang: str) -> None:
    """The code writes Latin digits into labels ("धारा 16", "ধারা 16"); the texts around them do too."""
    folders = [LANGUAGES_DIR / lang, LANGUAGES_DIR.parent / "corpus" / lang]
    found = [f"{p.name}:{n}" for folder in folders for p in sorted(folder.glob("*.yaml"))
             for n, line in enumerate(p.read_text("utf-8").splitlines(), 1)
             if re.search(SCRIPT_DIGITS[lang], line)]
    assert not found, found
