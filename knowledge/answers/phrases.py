"""The fixed words around corpus texts, and every human-readable citation label, from one file.

``content/data/phrases.yaml`` holds them per answer language. Answers (``compose.py``) and safety
messages (``knowledge/safety``) both render citations through ``Phrases.citation_labels``, so a
person who gets both in one conversation sees one name for one document (they used to see "CMW
GC 5 (2021)" in an answer and "CMW General Comment 5" in a safety message).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from knowledge.content_check import language_files, merge_language_blocks, raise_problems, read_yaml
from knowledge.errors import KnowledgeError
from knowledge.settings import DATA_DIR
from knowledge.vocab import (
    ARTICLE_ID,
    COMMENT_ID,
    COMPLETE_LANGUAGES,
    FALLBACK_LANGUAGE,
    GENERAL_COMMENTS,
    document_id,
)

PHRASES_FILE = DATA_DIR / "phrases.yaml"
FACTS_KEY = "general_comments"
# The words every answer language needs, with the placeholders each template is given.
TEMPLATES: dict[str, tuple[str, ...]] = {
    "part": ("part",),
    "see_also": ("refs",),
    "article": ("n",),
    "articles": ("list",),
    "comment": ("n", "year"),
    "joint_comment": ("n", "crc", "year"),
    "sdg": ("n",),
    "status_party": ("name", "since"),
    "since": ("date",),
    "month_year": ("month", "year"),
    "status_signed": ("name", "date"),
    "status_none": ("name",),
    "status_general": ("count", "date"),
    "declaration_made": ("name", "n"),
    "declaration_not_made": ("name", "n"),
    "declaration_unknown": ("name", "n"),
    "parties_count": ("count", "date", "signed"),
    "parties_list": ("date",),
    "status_source": ("date",),
    "date": ("day", "month", "year"),
}
WORDS = (
    "comma", "list_sep", "last_sep", "citation_sep", "not_covered", "binds",
    "scope_all", "scope_scope", "scope_regular", "scope_states", "scope_committee", "scope_final",
    "gcm", "cmw_states_2019", "cmw_hlpf_2019",
    "comment_note", "signed_list", "ask_country", "other_country", "months",
)  # fmt: skip
# The other documents the themes cite, by the first part of their ID, and the word naming each
# (``sdg:10.c`` -> the ``sdg`` template with n = "10.c"; ``seed:cmw-hlpf-2019:remittances`` -> cmw_hlpf_2019).
DOCUMENT_WORDS = {"gcm": "gcm", "seed:cmw-states-2019": "cmw_states_2019", "seed:cmw-hlpf-2019": "cmw_hlpf_2019"}
LANGUAGE_NAMES_FILE = DATA_DIR / "language_names.yaml"
# for a language with a dual; "since" with a date known to the day ("desde el 9 de junio de 1999")
OPTIONAL_TEMPLATES = {"articles_two": ("list",), "since_day": ("date",)}
# The Convention's Parts are numbered I to IX; a language whose text names them in words
# (Arabic: الجزء الثالث) gives the nine names, space-separated, as ``part_names``.
PARTS = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX")


class PhrasesError(KnowledgeError):
    """``phrases.yaml`` is malformed; the message lists every problem."""


@dataclass(frozen=True)
class GeneralComment:
    """What a label needs to name a general comment exactly: its year, and for a comment adopted
    jointly with the Committee on the Rights of the Child, that committee's number for it."""

    number: int
    year: int
    crc: int | None = None


class Phrases:
    """The validated content of ``phrases.yaml``."""

    def __init__(self, words: Mapping[str, Mapping[str, str]], comments: Mapping[str, GeneralComment]):
        self.words = {lang: dict(table) for lang, table in words.items()}
        self.comments = dict(comments)

    @classmethod
    def load(cls, path: Path | None = None) -> Phrases:
        path = Path(path) if path is not None else PHRASES_FILE
        problems: list[str] = []
        data = read_yaml(path, problems)
        if not problems and not isinstance(data, dict):
            problems.append(f"{path}: expected '{FACTS_KEY}:' and one block per language at the top level")
        raise_problems(path.name, problems, PhrasesError)
        # a language's block may live in its folder (content/languages/<lang>/phrases.yaml)
        merge_language_blocks(data, language_files("phrases.yaml", problems), str(path), problems)
        comments = _check_comments(path, data.get(FACTS_KEY), problems)
        words: dict[str, dict[str, str]] = {}
        for lang in COMPLETE_LANGUAGES:
            if not isinstance(data.get(lang), dict):
                problems.append(f"{path}: missing language {lang!r}")
        for lang, table in data.items():
            if lang != FACTS_KEY:
                words[str(lang)] = _check_words(f"{path} (language {lang!r})", table, problems)
        raise_problems(path.name, problems, PhrasesError)
        return cls(words, comments)

    def languages(self) -> frozenset[str]:
        return frozenset(self.words)

    def words_for(self, lang: str) -> dict[str, str]:
        """The phrases of ``lang``, or English when it has none."""
        return self.words.get(lang) or self.words[FALLBACK_LANGUAGE]

    def citation_labels(self, citations: Iterable[str], lang: str) -> str:
        """Labels for the documents cited, each once: ``icrmw:art16, icrmw:art17, cmw-gc5:safeguards``
        -> "Convention, arts. 16 and 17; CMW General Comment 5 (2021)".

        The Convention's articles are named together, then each general comment, then the themes'
        documents by name (``sdg:10.7``, ``gcm``), and anything else by its ID (``local:hotline``).
        """
        words = self.words_for(lang)
        articles: list[str] = []
        labels: list[str] = []
        for doc in dict.fromkeys(map(document_id, citations)):
            article, comment = ARTICLE_ID.fullmatch(doc), COMMENT_ID.fullmatch(doc)
            if article:
                articles.append(article.group(1))
            elif comment and doc in self.comments:
                labels.append(self._comment(self.comments[doc], words))
            elif doc.startswith("sdg:"):
                labels.append(words["sdg"].format(n=_sdg_target(doc.removeprefix("sdg:"), words)))
            elif doc in DOCUMENT_WORDS:
                labels.append(words[DOCUMENT_WORDS[doc]])
            else:
                labels.append(doc)
        if articles:
            labels.insert(0, _articles(articles, words))
        return words["citation_sep"].join(labels)

    def citation_label(self, citation_id: str, lang: str) -> str:
        """The label of one citation: ``icrmw:art21`` -> "Convention, art. 21"."""
        return self.citation_labels([citation_id], lang)

    @staticmethod
    def _comment(comment: GeneralComment, words: Mapping[str, str]) -> str:
        if comment.crc is None:
            return words["comment"].format(n=comment.number, year=comment.year)
        return words["joint_comment"].format(n=comment.number, crc=comment.crc, year=comment.year)


def _articles(numbers: list[str], words: Mapping[str, str]) -> str:
    if len(numbers) == 1:
        return words["article"].format(n=numbers[0])
    listed = words["list_sep"].join(numbers[:-1]) + words["last_sep"] + numbers[-1]
    dual = words.get("articles_two") if len(numbers) == 2 else None  # a language with a dual
    return (dual or words["articles"]).format(list=listed)


def _sdg_target(target: str, words: Mapping[str, str]) -> str:
    """"10.c" as the language numbers a target: Arabic lettering gives "10-ج" (``sdg_letters``)."""
    letters = words.get("sdg_letters", "").split()
    number, _, letter = target.partition(".")
    if letters and len(letter) == 1 and "a" <= letter <= "z" and ord(letter) - ord("a") < len(letters):
        return f"{number}-{letters[ord(letter) - ord('a')]}"
    return target


def _check_comments(path: Path, raw: object, problems: list[str]) -> dict[str, GeneralComment]:
    where = f"{path} ({FACTS_KEY})"
    if not isinstance(raw, dict):
        problems.append(f"{where}: missing; give each general comment's year (and crc: its CRC number if joint)")
        return {}
    comments: dict[str, GeneralComment] = {}
    for doc in GENERAL_COMMENTS:
        if doc not in raw:
            problems.append(f"{where}: {doc} is missing")
    for doc, facts in raw.items():
        match = COMMENT_ID.fullmatch(str(doc))
        year = facts.get("year") if isinstance(facts, dict) else None
        crc = facts.get("crc") if isinstance(facts, dict) else None
        if match is None:
            problems.append(f"{where}: {doc!r} is not a general comment ID such as cmw-gc5")
        elif not isinstance(year, int) or not (isinstance(crc, int) or crc is None):
            problems.append(f"{where}: {doc} needs 'year:' (and 'crc:' only for a joint comment) as whole numbers")
        else:
            comments[str(doc)] = GeneralComment(int(match.group(1)), year, crc)
    return comments


def _check_words(where: str, raw: object, problems: list[str]) -> dict[str, str]:
    if not isinstance(raw, dict):
        problems.append(f"{where}: expected a block of phrases")
        return {}
    words = {str(k): v for k, v in raw.items() if isinstance(v, str) and v}
    missing = [k for k in (*TEMPLATES, *WORDS) if k not in words]
    if missing:
        problems.append(f"{where}: missing {', '.join(missing)}")
    if "part_names" in words and len(words["part_names"].split()) != len(PARTS):
        problems.append(f"{where}: part_names must name the {len(PARTS)} Parts, space-separated")
    if "months" in words and len(words["months"].split()) != 12:
        problems.append(f"{where}: months must name the 12 months, space-separated")
    for key, fields in {**TEMPLATES, **OPTIONAL_TEMPLATES}.items():
        try:
            words.get(key, "").format(**dict.fromkeys(fields, 1))
        except (KeyError, IndexError, ValueError):
            problems.append(f"{where}: {key} may use only {', '.join('{' + f + '}' for f in fields)}")
    return words


@cache
def default_phrases() -> Phrases:
    """The bundled phrases, loaded once."""
    return Phrases.load()


def phrases(lang: str) -> dict[str, str]:
    """The bundled phrases of ``lang`` (English when it has none)."""
    return default_phrases().words_for(lang)


def citation_label(citation_id: str, lang: str) -> str:
    """The bundled label of one citation in ``lang`` (English when it has no phrases)."""
    return default_phrases().citation_label(citation_id, lang)


def part_label(part: str, words: Mapping[str, str]) -> str:
    """"Part III" in the words of a language: its ``part`` template, with the Part's name where
    the language names Parts in words (``part_names``)."""
    names = words.get("part_names", "").split()
    if part in PARTS and len(names) == len(PARTS):
        part = names[PARTS.index(part)]
    return words["part"].format(part=part)


@cache
def _language_names() -> dict[str, dict[str, str]]:
    problems: list[str] = []
    data = read_yaml(LANGUAGE_NAMES_FILE, problems)
    if not problems and not (isinstance(data, dict) and all(isinstance(v, dict) for v in data.values())):
        problems.append(f"{LANGUAGE_NAMES_FILE}: expected one block of 'code: name' per answer language")
    raise_problems(LANGUAGE_NAMES_FILE.name, problems, PhrasesError)
    folders = {lang: block.get("languages") for lang, block in language_files("names.yaml", problems).items()
               if block.get("languages")}
    merge_language_blocks(data, folders, str(LANGUAGE_NAMES_FILE), problems)
    raise_problems(LANGUAGE_NAMES_FILE.name, problems, PhrasesError)
    return {str(lang): {str(k): str(v) for k, v in names.items()} for lang, names in data.items()}


def language_name(code: str, lang: str) -> str:
    """The name of the language ``code`` in the answer language ``lang`` ("ar" in Spanish: "árabe");
    its English name, or the code itself, when the file does not name it."""
    names = _language_names()
    return names.get(lang, {}).get(code) or names[FALLBACK_LANGUAGE].get(code) or code
