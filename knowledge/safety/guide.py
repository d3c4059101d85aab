"""What to do now, per urgency category and language: the validated content of ``safety.yaml``.

The project writes one entry per urgency category in each complete language (a heading, 3-5
short steps and one sentence on the rights that apply) with the citation IDs that back it. The
file is checked as a whole when it is loaded, and every problem is reported at once, because a
wrong citation or a missing language must be caught before it reaches a person in danger.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from knowledge.answers.phrases import Phrases, default_phrases
from knowledge.content_check import (
    LANGUAGE_CODE,
    language_files,
    merge_language_blocks,
    raise_problems,
    read_yaml,
    text_field,
)
from knowledge.corpus.model import Corpus
from knowledge.safety.errors import SafetyError
from knowledge.settings import DATA_DIR, LANGUAGES_DIR
from knowledge.vocab import COMPLETE_LANGUAGES, FALLBACK_CATEGORY, FALLBACK_LANGUAGE, URGENCY_CATEGORIES, document_id

SAFETY_FILE = DATA_DIR / "safety.yaml"
# Every category triage can name, and the fallback for an emergency of unknown kind.
CATEGORIES: tuple[str, ...] = (*URGENCY_CATEGORIES, FALLBACK_CATEGORY)
LANGUAGES: tuple[str, ...] = COMPLETE_LANGUAGES  # every category must be written in each of these
# A heading and 3-5 short steps: what fits on a phone screen without scrolling past the hotlines.
MIN_STEPS, MAX_STEPS = 3, 5
MAX_STEP_CHARS = 200
# The fixed words around the texts and hotlines; citation labels and the "binds" sentence are
# the answers' too and live in phrases.yaml.
# "help_soon" heads the one line of help added to an answer that is not an emergency; "person"
# is the button that offers a person from the hotline.
LABEL_KEYS = ("help", "help_soon", "person", "example", "languages", "whatsapp", "group_sep", "colon")
# Said in the fallback language's labels only: a text shown in it to someone who wrote another
# language names that language ({language}) so that the person knows why.
OPTIONAL_LABEL_KEYS = ("not_in_language",)
_TEXT_KEYS = frozenset({"heading", "steps", "rights"})


@dataclass(frozen=True)
class SafetyText:
    """What to say in one language for one category."""

    heading: str
    steps: tuple[str, ...]
    rights: str


@dataclass(frozen=True)
class Situation:
    """One urgency category: its texts by language and the provisions that back them."""

    category: str
    citations: tuple[str, ...]
    texts: Mapping[str, SafetyText] = field(compare=False)


class SafetyGuide:
    """The validated content of ``safety.yaml``, with the phrases its citations are named in."""

    def __init__(
        self, situations: Mapping[str, Situation], labels: Mapping[str, Mapping[str, str]], phrases: Phrases,
    ):
        self.situations = dict(situations)
        self.labels = {lang: dict(words) for lang, words in labels.items()}
        self.phrases = phrases

    @classmethod
    def load(
        cls, path: Path | None = None, corpus: Corpus | None = None, phrases: Phrases | None = None,
    ) -> SafetyGuide:
        """Read and check ``path``; citation IDs are checked against ``corpus`` (the bundled one by
        default); ``phrases`` (the bundled ones by default) name the citations."""
        path = Path(path) if path is not None else SAFETY_FILE
        corpus = corpus if corpus is not None else Corpus.load()
        phrases = phrases if phrases is not None else default_phrases()
        problems: list[str] = []
        data = read_yaml(path, problems)
        if not problems and not isinstance(data, dict):
            problems.append(f"{path}: expected 'labels:' and 'categories:' at the top level")
        raise_problems(path.name, problems, SafetyError)
        _merge_language_folders(path, data, problems)
        labels = _check_labels(path, data.get("labels"), problems)
        situations = _check_categories(path, data.get("categories"), corpus, problems)
        raise_problems(path.name, problems, SafetyError)
        return cls(situations, labels, phrases)

    def language_for(self, category: str, lang: str) -> str:
        """``lang`` if this category, the labels and the phrases are written in it, else English."""
        situation = self.situations[category]
        written = lang in situation.texts and lang in self.labels and lang in self.phrases.languages()
        return lang if written else FALLBACK_LANGUAGE


@cache
def default_guide() -> SafetyGuide:
    """The bundled safety content, loaded once (the only file access, before anyone is waiting)."""
    return SafetyGuide.load()


def _merge_language_folders(path: Path, data: dict[str, Any], problems: list[str]) -> None:
    """Add the texts a language keeps in its folder (``content/languages/<lang>/safety.yaml``:
    ``labels:`` and ``categories:`` with each category's heading, steps and rights)."""
    for lang, block in language_files("safety.yaml", problems).items():
        where = f"{LANGUAGES_DIR / lang / 'safety.yaml'}"
        if isinstance(data.get("labels"), dict):
            merge_language_blocks(data["labels"], {lang: block.get("labels")}, str(path), problems)
        texts = block.get("categories")
        if not isinstance(texts, dict):
            problems.append(f"{where}: expected 'categories:' with the texts of each category")
            continue
        categories = data.get("categories")
        if not isinstance(categories, dict):
            continue
        for name, text in texts.items():
            if not isinstance(categories.get(name), dict):
                problems.append(f"{where}: unknown category {name!r}")
                continue
            merge_language_blocks(categories[name], {lang: text}, f"{path} (category {name!r})", problems)


def _check_labels(path: Path, raw: object, problems: list[str]) -> dict[str, dict[str, str]]:
    if not isinstance(raw, dict):
        problems.append(f"{path}: missing 'labels:' (the fixed words around the texts, one block per language)")
        return {}
    labels: dict[str, dict[str, str]] = {}
    for lang in LANGUAGES:
        if not isinstance(raw.get(lang), dict):
            problems.append(f"{path} (labels): missing language {lang!r}")
    for lang, words in raw.items():
        if not isinstance(words, dict):
            continue
        where = f"{path} (labels, language {lang!r})"
        unknown = sorted(set(map(str, words)) - set(LABEL_KEYS) - set(OPTIONAL_LABEL_KEYS))
        if unknown:
            problems.append(f"{where}: unknown {', '.join(unknown)}; citation words and 'binds' live in phrases.yaml")
        missing = [k for k in LABEL_KEYS if not isinstance(words.get(k), str) or not words[k]]
        if missing:
            problems.append(f"{where}: missing {', '.join(missing)}")
        if not unknown and not missing:
            labels[str(lang)] = {str(k): str(v) for k, v in words.items()}
    return labels


def _check_categories(path: Path, raw: object, corpus: Corpus, problems: list[str]) -> dict[str, Situation]:
    if not isinstance(raw, dict):
        problems.append(f"{path}: missing 'categories:' (one block per urgency category)")
        return {}
    for name in CATEGORIES:
        if name not in raw:
            problems.append(f"{path}: category {name!r} is missing; every one of {', '.join(CATEGORIES)} is needed")
    situations: dict[str, Situation] = {}
    for name, block in raw.items():
        situation = _check_situation(path, str(name), block, corpus, problems)
        if situation is not None:
            situations[situation.category] = situation
    return situations


def _check_situation(path: Path, name: str, block: object, corpus: Corpus, problems: list[str]) -> Situation | None:
    where = f"{path} (category {name!r})"
    if name not in CATEGORIES:
        problems.append(f"{where}: unknown category; use one of {', '.join(CATEGORIES)}")
        return None
    if not isinstance(block, dict):
        problems.append(f"{where}: expected 'citations:' and one block per language")
        return None
    citations = _check_citations(where, block.get("citations"), corpus, problems)
    for lang in LANGUAGES:
        if lang not in block:
            problems.append(f"{where}: missing language {lang!r}; write it in each of {', '.join(LANGUAGES)}")
    texts: dict[str, SafetyText] = {}
    for lang, raw_text in block.items():
        if lang == "citations":
            continue
        text = _check_text(f"{path} (category {name!r}, language {lang!r})", str(lang), raw_text, problems)
        if text is not None:
            texts[str(lang)] = text
    return Situation(name, citations, texts)


def _check_citations(where: str, raw: object, corpus: Corpus, problems: list[str]) -> tuple[str, ...]:
    if not isinstance(raw, list):
        problems.append(f"{where}: 'citations' must be a list of IDs such as icrmw:art16 (it may be empty)")
        return ()
    known = set(corpus.metas)
    citations = []
    for cid in (str(c).strip() for c in raw):
        # A whole general comment (cmw-gc5) is citable when the corpus has sections of it.
        if cid in known or (cid == document_id(cid) and corpus.ids_for(cid)):
            citations.append(cid)
        else:
            problems.append(f"{where}: citation {cid!r} is not in the corpus; use an ID from the corpus's meta/ folder")
    return tuple(citations)


def _check_text(where: str, lang: str, raw: object, problems: list[str]) -> SafetyText | None:
    if not LANGUAGE_CODE.fullmatch(lang):
        problems.append(f"{where}: not a language code; use an ISO 639-1 code such as 'en'")
        return None
    if not isinstance(raw, dict):
        problems.append(f"{where}: expected 'heading:', 'steps:' and 'rights:'")
        return None
    before = len(problems)
    unknown = sorted(set(map(str, raw)) - _TEXT_KEYS)
    if unknown:
        problems.append(f"{where}: unknown field(s) {', '.join(unknown)}; use heading, steps and rights")
    heading, rights = text_field(raw.get("heading")), text_field(raw.get("rights"))
    if not heading:
        problems.append(f"{where}: empty heading")
    if not rights:
        problems.append(f"{where}: empty 'rights' sentence")
    steps = _check_steps(where, raw.get("steps"), problems)
    if len(problems) > before:
        return None
    return SafetyText(heading, steps, rights)


def _check_steps(where: str, raw: object, problems: list[str]) -> tuple[str, ...]:
    steps = tuple(text_field(s) for s in raw) if isinstance(raw, list) else ()
    if not steps:
        problems.append(f"{where}: no steps; write {MIN_STEPS} to {MAX_STEPS} short steps")
    elif any(not s for s in steps):
        problems.append(f"{where}: empty step; every step needs text")
    elif not MIN_STEPS <= len(steps) <= MAX_STEPS:
        problems.append(f"{where}: {len(steps)} steps; keep {MIN_STEPS} to {MAX_STEPS} so it fits on a phone screen")
    for n, step in enumerate(steps, 1):
        if len(step) > MAX_STEP_CHARS:
            problems.append(f"{where}: step {n} has {len(step)} characters; keep each under {MAX_STEP_CHARS}")
    return steps
