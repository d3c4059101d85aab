"""The safety guide (content/data/safety.yaml): the shipped content says the right things, and a
broken file names every problem at once."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from knowledge.answers.phrases import Phrases
from knowledge.corpus.model import Corpus
from knowledge.safety import CATEGORIES, LANGUAGES, MAX_STEPS, MIN_STEPS, SafetyError, SafetyGuide
from knowledge.safety.guide import LABEL_KEYS, OPTIONAL_LABEL_KEYS
from knowledge.settings import LANGUAGES_DIR
from knowledge.vocab import FALLBACK_CATEGORY, URGENCY_CATEGORIES
from tests.knowledge.safety.helpers import raw, write

CONSENT = {"en": "if you wish", "es": "si lo desea", "fr": "si vous le souhaitez", "ar": "إذا رغبت",
           "ne": "चाहनुहुन्छ भने", "bn": "আপনি চাইলে", "ur": "اگر آپ چاہیں",
           "tl": "kung gusto ninyo", "id": "jika anda mau"}


# --- the shipped file --------------------------------------------------------------------------


def test_shipped_guide_validates(guide: SafetyGuide) -> None:
    assert set(guide.situations) == set(CATEGORIES) == {*URGENCY_CATEGORIES, FALLBACK_CATEGORY}
    for situation in guide.situations.values():
        assert set(situation.texts) == set(LANGUAGES), situation.category
        assert all(MIN_STEPS <= len(text.steps) <= MAX_STEPS for text in situation.texts.values())


def test_every_citation_is_in_the_corpus_and_protects_everyone(guide: SafetyGuide, corpus: Corpus) -> None:
    for situation in guide.situations.values():
        assert situation.citations, situation.category
        for cid in situation.citations:
            assert cid in corpus.metas, f"{situation.category}: {cid}"
            if cid.startswith("icrmw:"):
                # safety information goes to everyone: only Part III, which protects every migrant
                assert (corpus.metas[cid].part, corpus.metas[cid].protects) == ("III", "all"), cid


@pytest.mark.parametrize("category,expected", [
    ("detention", {"icrmw:art16", "icrmw:art17", "icrmw:art18"}),
    ("documents", {"icrmw:art21"}),
    ("locked_in", {"icrmw:art11", "icrmw:art16", "icrmw:art21"}),
    ("trafficking", {"icrmw:art11", "icrmw:art16", "icrmw:art21"}),
    ("violence", {"icrmw:art10", "icrmw:art16"}),
    ("medical", {"icrmw:art28"}),
    ("deportation", {"icrmw:art22", "icrmw:art23"}),
    ("self_harm", {"icrmw:art28"}),
])
def test_the_articles_that_apply(guide: SafetyGuide, category: str, expected: set[str]) -> None:
    cited = {c for c in guide.situations[category].citations if c.startswith("icrmw:")}
    assert cited == expected


def test_consular_contact_is_always_optional(guide: SafetyGuide) -> None:
    words = {"en": ("consul", "embass"), "es": ("consul", "embajada"), "fr": ("consul", "ambassade"),
             "ar": ("قنصلية", "سفار"), "ne": ("दूतावास",), "bn": ("কনস্যুলেট", "দূতাবাস"),
             "ur": ("قونصل", "سفارت"), "tl": ("konsulado", "embahada"),
             "id": ("konsulat", "kedutaan")}
    seen = 0
    for situation in guide.situations.values():
        for lang, text in situation.texts.items():
            for step in text.steps:
                if any(w in step.lower() for w in words[lang]):
                    seen += 1
                    assert CONSENT[lang] in step.lower(), f"{situation.category}/{lang}: {step}"
    assert seen >= 2 * len(words)  # detention and deportation, in every language


def test_status_is_only_mentioned_to_say_the_right_applies_anyway(guide: SafetyGuide) -> None:
    for situation in guide.situations.values():
        text = situation.texts["en"]
        for sentence in [text.heading, *text.steps, text.rights]:
            lowered = sentence.lower()
            assert lowered.count("status") == lowered.count("whatever your status"), sentence
            assert not any(w in lowered for w in ("undocumented", "irregular", "papers", "visa")), sentence


def test_citation_words_are_not_repeated_here(guide: SafetyGuide) -> None:
    """Citation labels and the "binds" sentence come from phrases.yaml, shared with the answers."""
    for lang in LANGUAGES:
        assert set(LABEL_KEYS) <= set(guide.labels[lang]) <= {*LABEL_KEYS, *OPTIONAL_LABEL_KEYS}
        assert lang in guide.phrases.languages()
    assert not {"article", "articles", "comment", "comments", "binds"} & set(raw("safety.yaml")["labels"]["en"])


# --- validation ---------------------------------------------------------------------------------


def _guide_error(tmp_path: Path, corpus: Corpus, data: Any) -> str:
    path = write(tmp_path, "safety.yaml", data)
    with pytest.raises(SafetyError) as info:
        SafetyGuide.load(path, corpus=corpus)
    message = str(info.value)
    assert "safety.yaml" in message
    return message


def test_unknown_category(tmp_path: Path, corpus: Corpus) -> None:
    data = raw("safety.yaml")
    data["categories"]["fire"] = copy.deepcopy(data["categories"]["urgent"])
    assert "category 'fire'): unknown category" in _guide_error(tmp_path, corpus, data)


def test_missing_category(tmp_path: Path, corpus: Corpus) -> None:
    data = raw("safety.yaml")
    del data["categories"]["medical"]
    assert "category 'medical' is missing" in _guide_error(tmp_path, corpus, data)


@pytest.mark.parametrize("lang", [lang for lang in LANGUAGES if lang in raw("safety.yaml")["labels"]])
def test_missing_language(tmp_path: Path, corpus: Corpus, lang: str) -> None:
    data = raw("safety.yaml")
    del data["categories"]["detention"][lang]
    assert f"category 'detention'): missing language '{lang}'" in _guide_error(tmp_path, corpus, data)


def test_a_language_folder_missing_a_category_or_adding_a_language_twice(
    tmp_path: Path, corpus: Corpus, monkeypatch: pytest.MonkeyPatch,
) -> None:
    folders = tmp_path / "languages"
    shutil.copytree(LANGUAGES_DIR, folders)
    texts = yaml.safe_load((folders / "ne" / "safety.yaml").read_text("utf-8"))
    del texts["categories"]["detention"]
    (folders / "ne" / "safety.yaml").write_text(yaml.safe_dump(texts, allow_unicode=True), "utf-8")
    monkeypatch.setattr("knowledge.content_check.LANGUAGES_DIR", folders)
    assert "category 'detention'): missing language 'ne'" in _guide_error(tmp_path, corpus, raw("safety.yaml"))
    data = raw("safety.yaml")
    data["labels"]["ne"] = texts["labels"]
    assert "language 'ne' is written both here and in its language folder" in _guide_error(tmp_path, corpus, data)


@pytest.mark.parametrize("steps,expected", [
    ([], "no steps"),
    (None, "no steps"),
    (["Call now.", "", "Stay safe."], "empty step"),
    (["One.", "Two."], "2 steps; keep 3 to 5"),
    ([f"Step {i}." for i in range(6)], "6 steps; keep 3 to 5"),
    (["x" * 250, "Two.", "Three."], "step 1 has 250 characters"),
])
def test_bad_steps(tmp_path: Path, corpus: Corpus, steps: Any, expected: str) -> None:
    data = raw("safety.yaml")
    data["categories"]["violence"]["fr"]["steps"] = steps
    message = _guide_error(tmp_path, corpus, data)
    assert "category 'violence', language 'fr'" in message and expected in message


def test_empty_heading_and_rights(tmp_path: Path, corpus: Corpus) -> None:
    data = raw("safety.yaml")
    data["categories"]["medical"]["es"]["heading"] = " "
    del data["categories"]["medical"]["es"]["rights"]
    message = _guide_error(tmp_path, corpus, data)
    assert "empty heading" in message and "empty 'rights' sentence" in message


def test_unknown_text_field_and_language_code(tmp_path: Path, corpus: Corpus) -> None:
    data = raw("safety.yaml")
    data["categories"]["medical"]["es"]["title"] = "x"
    data["categories"]["medical"]["Spanish"] = data["categories"]["medical"]["es"]
    message = _guide_error(tmp_path, corpus, data)
    assert "language 'es'): unknown field(s) title" in message
    assert "language 'Spanish'): not a language code" in message


@pytest.mark.parametrize("cid", ["icrmw:art94", "icrmw:art16(2)", "cmw-gc9", "cmw-gc5:nowhere", "local:nope"])
def test_citation_not_in_corpus(tmp_path: Path, corpus: Corpus, cid: str) -> None:
    data = raw("safety.yaml")
    data["categories"]["documents"]["citations"].append(cid)
    message = _guide_error(tmp_path, corpus, data)
    assert f"category 'documents'): citation {cid!r} is not in the corpus" in message


def test_a_whole_general_comment_may_be_cited(tmp_path: Path, corpus: Corpus) -> None:
    data = raw("safety.yaml")
    data["categories"]["detention"]["citations"] = ["icrmw:art16", "cmw-gc5"]
    guide = SafetyGuide.load(write(tmp_path, "safety.yaml", data), corpus=corpus)
    assert guide.situations["detention"].citations == ("icrmw:art16", "cmw-gc5")


def test_missing_label(tmp_path: Path, corpus: Corpus) -> None:
    data = raw("safety.yaml")
    del data["labels"]["ar"]["example"]
    assert "(labels, language 'ar'): missing example" in _guide_error(tmp_path, corpus, data)


def test_a_citation_word_written_here_is_refused(tmp_path: Path, corpus: Corpus) -> None:
    data = raw("safety.yaml")
    data["labels"]["fr"]["binds"] = "La Convention ne lie que les États qui l'ont ratifiée."
    message = _guide_error(tmp_path, corpus, data)
    assert "(labels, language 'fr'): unknown binds; citation words and 'binds' live in phrases.yaml" in message


def test_every_problem_is_reported_at_once(tmp_path: Path, corpus: Corpus) -> None:
    data = raw("safety.yaml")
    data["categories"]["detention"]["es"]["steps"] = []
    data["categories"]["medical"]["citations"] = ["icrmw:art999"]
    message = _guide_error(tmp_path, corpus, data)
    assert "2 problem(s)" in message and "'detention'" in message and "'medical'" in message


def test_invalid_yaml_and_missing_file(tmp_path: Path, corpus: Corpus) -> None:
    bad = tmp_path / "safety.yaml"
    bad.write_text("labels: [unclosed\n", "utf-8")
    with pytest.raises(SafetyError, match="not valid YAML"):
        SafetyGuide.load(bad, corpus=corpus)
    with pytest.raises(SafetyError, match="file not found"):
        SafetyGuide.load(tmp_path / "absent.yaml", corpus=corpus)


def test_a_language_without_phrases_falls_back_to_english(guide: SafetyGuide) -> None:
    """Texts and labels in a language are not enough: its citation words must exist too."""
    english_only = Phrases({"en": guide.phrases.words["en"]}, guide.phrases.comments)
    partial = SafetyGuide(guide.situations, guide.labels, english_only)
    assert partial.language_for("medical", "fr") == "en"
    assert guide.language_for("medical", "fr") == "fr"
