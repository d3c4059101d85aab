"""Safety information for a person in an urgent situation, and the hotlines to give with it.

When someone writes in danger, the assistant must answer at once, in their language, with what to
do now, the Convention provisions that protect them, and a line where a human can help. Two files
hold that content: ``data/safety.yaml`` (written by the project, one entry per urgency category in
en/es/fr/ar, with citation IDs) and ``data/hotlines.yaml`` (a directory the NGO edits). Both are
validated as a whole when loaded, and every problem is reported at once with its file and entry,
because an NGO editing YAML should be able to fix everything in one pass and because a bad entry
(an unknown country, a line with no number) must be caught before it reaches a person in danger.

After loading, ``safety_message`` is pure: no file or network access while someone is waiting.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from knowledge.corpus import COMPLETE_LANGUAGES, Corpus, document_id
from knowledge.errors import KnowledgeError
from knowledge.paths import DATA_DIR

SAFETY_FILE = DATA_DIR / "safety.yaml"
HOTLINES_FILE = DATA_DIR / "hotlines.yaml"

# The urgency categories triage can name; "urgent" is the fallback for an emergency of unknown kind.
CATEGORIES: tuple[str, ...] = (
    "detention", "documents", "locked_in", "trafficking", "violence",
    "medical", "child_alone", "deportation", "self_harm", "urgent",
)
FALLBACK_CATEGORY = "urgent"
LANGUAGES: tuple[str, ...] = COMPLETE_LANGUAGES  # every category must be written in each of these
FALLBACK_LANGUAGE = "en"
# A heading and 3-5 short steps: what fits on a phone screen without scrolling past the hotlines.
MIN_STEPS, MAX_STEPS = 3, 5
MAX_STEP_CHARS = 200
MAX_HOTLINES = 3  # NGO lines shown before the emergency-services line
ANYWHERE = "*"

_LABEL_KEYS = (
    "help", "example", "languages", "whatsapp", "article", "articles",
    "list_sep", "last_sep", "group_sep", "comment", "comments", "colon", "binds",
)
_TEXT_KEYS = frozenset({"heading", "steps", "rights"})
_TRANSLATABLE = ("organisation", "phone", "whatsapp", "hours", "note")
_HOTLINE_KEYS = frozenset(
    {"organisation", "countries", "languages", "phone", "whatsapp", "hours", "categories", "note",
     "example", "emergency", "translations"}
)
_LANG_CODE = re.compile(r"[a-z]{2}")
_WHATSAPP = re.compile(r"\+?[0-9][0-9 ()-]{4,}")
_ARTICLE = re.compile(r"icrmw:art(\d+)")
_COMMENT = re.compile(r"cmw-gc(\d+)")
_COUNTRY_ALIASES = {"UK": "GB"}  # the one non-ISO code people type most often

# ISO 3166-1 alpha-2: the 249 officially assigned codes.
ISO_COUNTRIES: frozenset[str] = frozenset("""
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW
BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI
FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN
IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME
MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF
PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV
SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE
YT ZA ZM ZW
""".split())


class SafetyError(KnowledgeError):
    """The safety content or the hotline directory is malformed; the message lists every problem."""


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


@dataclass(frozen=True)
class Hotline:
    """One line of help from the directory."""

    organisation: str
    countries: tuple[str, ...]
    languages: tuple[str, ...]
    phone: str = ""
    whatsapp: str = ""
    hours: str = ""
    categories: tuple[str, ...] = ()
    note: str = ""
    example: bool = False
    emergency: bool = False
    translations: Mapping[str, Mapping[str, str]] = field(default_factory=dict, compare=False, repr=False)

    def serves(self, country: str | None) -> bool:
        return ANYWHERE in self.countries or (country is not None and country in self.countries)

    def speaks(self, lang: str) -> bool:
        return ANYWHERE in self.languages or lang in self.languages

    def handles(self, category: str) -> bool:
        """A line with no categories is a general line; any line will hear an unnamed emergency."""
        return not self.categories or category in self.categories or category == FALLBACK_CATEGORY

    def in_language(self, lang: str) -> Hotline:
        """This entry with the fields the directory translated into ``lang``."""
        return replace(self, **dict(self.translations.get(lang, {})))


@dataclass(frozen=True)
class SafetyMessage:
    """What to send now: text in the person's language, what it stands on, and who can help."""

    text: str
    citations: list[str]
    hotlines: list[Hotline]
    category: str
    lang: str


class SafetyGuide:
    """The validated content of ``safety.yaml``."""

    def __init__(self, situations: Mapping[str, Situation], labels: Mapping[str, Mapping[str, str]]):
        self.situations = dict(situations)
        self.labels = {lang: dict(words) for lang, words in labels.items()}

    @classmethod
    def load(cls, path: Path | None = None, corpus: Corpus | None = None) -> SafetyGuide:
        """Read and check ``path``; citation IDs are checked against ``corpus`` (the bundled one by default)."""
        path = Path(path) if path is not None else SAFETY_FILE
        corpus = corpus if corpus is not None else Corpus.load()
        problems: list[str] = []
        data = _read_yaml(path, problems)
        if not problems and not isinstance(data, dict):
            problems.append(f"{path}: expected 'labels:' and 'categories:' at the top level")
        if problems:
            raise _error(path, problems)
        labels = _check_labels(path, data.get("labels"), problems)
        situations = _check_categories(path, data.get("categories"), corpus, problems)
        if problems:
            raise _error(path, problems)
        return cls(situations, labels)

    def language_for(self, category: str, lang: str) -> str:
        """``lang`` if this category and the labels are written in it, else English."""
        situation = self.situations[category]
        return lang if lang in situation.texts and lang in self.labels else FALLBACK_LANGUAGE


class HotlineDirectory:
    """The validated content of ``hotlines.yaml``, in the NGO's order."""

    def __init__(self, entries: Sequence[Hotline]):
        self.entries = tuple(entries)

    @classmethod
    def load(cls, path: Path | None = None) -> HotlineDirectory:
        path = Path(path) if path is not None else HOTLINES_FILE
        problems: list[str] = []
        data = _read_yaml(path, problems)
        if not problems and not isinstance(data, list):
            problems.append(f"{path}: expected a list of entries (each one starting with '- organisation:')")
        if problems:
            raise _error(path, problems)
        entries = []
        for i, raw in enumerate(data):
            entry = _check_hotline(f"{path} (entry #{i + 1}{_name_of(raw)})", raw, problems)
            if entry is not None:
                entries.append(entry)
        if not any(e.emergency and ANYWHERE in e.countries for e in entries):
            problems.append(
                f"{path}: no emergency-services entry for anywhere; keep the 'Local emergency services' "
                f"entry with emergency: true and countries: ['*']"
            )
        if problems:
            raise _error(path, problems)
        return cls(entries)

    @property
    def has_examples(self) -> bool:
        """True while the fictional entries shipped with the project are still in the directory."""
        return any(e.example for e in self.entries)

    def choose(self, category: str, lang: str, country: str | None) -> list[Hotline]:
        """Lines for this situation, best first, with the emergency services always last.

        Only lines serving the person's country (or anywhere) and handling the category are kept.
        Fictional example entries are used only when no real line fits, so that a deployment that
        has not yet filled its directory still shows where its numbers will go. Among the lines
        kept, those speaking the person's language come first, then specialists of the category,
        then lines for that country rather than for anywhere; ties keep the directory's order.
        """
        fitting = [e for e in self.entries if not e.emergency and e.serves(country) and e.handles(category)]
        real = [e for e in fitting if not e.example]
        pool = real or fitting

        def rank(entry: Hotline) -> tuple[bool, bool, bool]:
            return (
                not entry.speaks(lang),
                category not in entry.categories,
                ANYWHERE in entry.countries,
            )

        chosen = sorted(pool, key=rank)[:MAX_HOTLINES]
        emergency = [e for e in self.entries if e.emergency and e.serves(country)]
        emergency.sort(key=lambda e: ANYWHERE in e.countries)  # a country's own line before the general one
        return [*chosen, *emergency[:1]]


def normalise_language(lang: str | None) -> str:
    """``"es-MX"`` -> ``"es"``; anything unusable -> English."""
    code = (lang or "").strip().lower().replace("_", "-").split("-")[0]
    return code if _LANG_CODE.fullmatch(code) else FALLBACK_LANGUAGE


def normalise_country(country: str | None) -> str | None:
    """An ISO 3166-1 alpha-2 code in upper case, or None when it is not one (only lines for anywhere fit)."""
    code = (country or "").strip().upper()
    code = _COUNTRY_ALIASES.get(code, code)
    return code if code in ISO_COUNTRIES else None


def safety_message(
    category: str,
    lang: str,
    country: str | None = None,
    directory: HotlineDirectory | None = None,
    guide: SafetyGuide | None = None,
) -> SafetyMessage:
    """The safety message for ``category``, in ``lang`` (English if not written in it).

    Never fails on its inputs, because it runs while someone is in danger: an unknown category gets
    the general "urgent" message, an unknown country only the lines that serve anywhere. The
    hotlines are still chosen by the person's own language, even when the text falls back to English.
    """
    guide = guide if guide is not None else default_guide()
    directory = directory if directory is not None else default_directory()
    category = category if category in guide.situations else FALLBACK_CATEGORY
    asked = normalise_language(lang)
    lang = guide.language_for(category, asked)
    situation = guide.situations[category]
    words = guide.labels[lang]
    content = situation.texts[lang]
    hotlines = [h.in_language(lang) for h in directory.choose(category, asked, normalise_country(country))]

    lines = [content.heading, *(f"{i}. {step}" for i, step in enumerate(content.steps, 1))]
    lines += ["", words["help"], *(_hotline_line(h, words) for h in hotlines), ""]
    refs = citation_labels(situation.citations, words)
    lines.append(" ".join(filter(None, [content.rights, f"({refs})" if refs else "", words["binds"]])))
    return SafetyMessage("\n".join(lines), list(situation.citations), hotlines, category, lang)


def citation_labels(citations: Sequence[str], words: Mapping[str, str]) -> str:
    """``icrmw:art16, icrmw:art17, cmw-gc5:safeguards`` -> "Convention, arts. 16 and 17; CMW General Comment 5"."""
    articles: list[str] = []
    comments: list[str] = []
    others: list[str] = []
    for doc in map(document_id, citations):
        article, comment = _ARTICLE.fullmatch(doc), _COMMENT.fullmatch(doc)
        if article:
            bucket, item = articles, article.group(1)
        elif comment:
            bucket, item = comments, comment.group(1)
        else:  # another document (seed:..., local:...) is shown by its ID
            bucket, item = others, doc
        if item not in bucket:
            bucket.append(item)
    groups = [_numbered(articles, "article", "articles", words), _numbered(comments, "comment", "comments", words)]
    return words["group_sep"].join([g for g in groups if g] + others)


def _numbered(numbers: list[str], one: str, many: str, words: Mapping[str, str]) -> str:
    if not numbers:
        return ""
    if len(numbers) == 1:
        return words[one].format(n=numbers[0])
    listed = words["list_sep"].join(numbers[:-1]) + words["last_sep"] + numbers[-1]
    template = words.get(f"{many}_two") if len(numbers) == 2 else None
    return (template or words[many]).format(list=listed)


@cache
def default_guide() -> SafetyGuide:
    """The bundled safety content, loaded once (the only file access, before anyone is waiting)."""
    return SafetyGuide.load()


@cache
def default_directory() -> HotlineDirectory:
    return HotlineDirectory.load()


def _hotline_line(hotline: Hotline, words: Mapping[str, str]) -> str:
    parts = [hotline.phone] if hotline.phone else []
    if hotline.whatsapp:
        parts.append(f"{words['whatsapp']} {hotline.whatsapp}")
    if hotline.hours:
        parts.append(hotline.hours)
    if ANYWHERE not in hotline.languages:
        parts.append(f"{words['languages']}{words['colon']}{', '.join(hotline.languages)}")
    line = f"- {hotline.organisation}{words['colon']}{words['group_sep'].join(parts)}"
    if hotline.note:
        line += f". {hotline.note}"
    if hotline.example:
        line += f" {words['example']}"
    return line


def _read_yaml(path: Path, problems: list[str]) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        problems.append(f"{path}: file not found")
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        problems.append(f"{path}: not valid YAML: {exc}")
    return None


def _error(path: Path, problems: list[str]) -> SafetyError:
    shown = "\n  - ".join(problems)
    return SafetyError(f"{path.name} has {len(problems)} problem(s); fix them and reload:\n  - {shown}")


def _text(value: object) -> str:
    return " ".join(str(value).split()) if isinstance(value, (str, int, float)) else ""


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
        missing = [k for k in _LABEL_KEYS if not isinstance(words.get(k), str) or not words[k]]
        if missing:
            problems.append(f"{path} (labels, language {lang!r}): missing {', '.join(missing)}")
            continue
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
        where = f"{path} (category {name!r})"
        if name not in CATEGORIES:
            problems.append(f"{where}: unknown category; use one of {', '.join(CATEGORIES)}")
            continue
        if not isinstance(block, dict):
            problems.append(f"{where}: expected 'citations:' and one block per language")
            continue
        citations = _check_citations(where, block.get("citations"), corpus, problems)
        texts: dict[str, SafetyText] = {}
        for lang in LANGUAGES:
            if lang not in block:
                problems.append(f"{where}: missing language {lang!r}; write it in each of {', '.join(LANGUAGES)}")
        for lang, raw_text in block.items():
            if lang == "citations":
                continue
            text = _check_text(f"{path} (category {name!r}, language {lang!r})", str(lang), raw_text, problems)
            if text is not None:
                texts[str(lang)] = text
        situations[name] = Situation(name, citations, texts)
    return situations


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
            problems.append(f"{where}: citation {cid!r} is not in the corpus; use an ID from knowledge/corpus/meta")
    return tuple(citations)


def _check_text(where: str, lang: str, raw: object, problems: list[str]) -> SafetyText | None:
    before = len(problems)
    if not _LANG_CODE.fullmatch(lang):
        problems.append(f"{where}: not a language code; use an ISO 639-1 code such as 'en'")
        return None
    if not isinstance(raw, dict):
        problems.append(f"{where}: expected 'heading:', 'steps:' and 'rights:'")
        return None
    unknown = sorted(set(map(str, raw)) - _TEXT_KEYS)
    if unknown:
        problems.append(f"{where}: unknown field(s) {', '.join(unknown)}; use heading, steps and rights")
    heading, rights = _text(raw.get("heading")), _text(raw.get("rights"))
    if not heading:
        problems.append(f"{where}: empty heading")
    if not rights:
        problems.append(f"{where}: empty 'rights' sentence")
    steps_raw = raw.get("steps")
    steps = tuple(_text(s) for s in steps_raw) if isinstance(steps_raw, list) else ()
    if not steps:
        problems.append(f"{where}: no steps; write {MIN_STEPS} to {MAX_STEPS} short steps")
    elif any(not s for s in steps):
        problems.append(f"{where}: empty step; every step needs text")
    elif not MIN_STEPS <= len(steps) <= MAX_STEPS:
        problems.append(f"{where}: {len(steps)} steps; keep {MIN_STEPS} to {MAX_STEPS} so it fits on a phone screen")
    for n, step in enumerate(steps, 1):
        if len(step) > MAX_STEP_CHARS:
            problems.append(f"{where}: step {n} has {len(step)} characters; keep each under {MAX_STEP_CHARS}")
    if len(problems) > before:
        return None
    return SafetyText(heading, steps, rights)


def _name_of(raw: object) -> str:
    name = _text(raw.get("organisation")) if isinstance(raw, dict) else ""
    return f", {name!r}" if name else ""


def _code_list(where: str, key: str, raw: object, problems: list[str]) -> list[str] | None:
    if not isinstance(raw, list) or not raw:
        problems.append(f"{where}: '{key}' must be a non-empty list (use ['*'] for any)")
        return None
    return [str(c).strip() for c in raw]


def _check_hotline(where: str, raw: object, problems: list[str]) -> Hotline | None:
    if not isinstance(raw, dict):
        problems.append(f"{where}: expected an entry with organisation, countries, languages and phone or whatsapp")
        return None
    before = len(problems)
    unknown = sorted(set(map(str, raw)) - _HOTLINE_KEYS)
    if unknown:
        problems.append(f"{where}: unknown field(s) {', '.join(unknown)}; allowed: {', '.join(sorted(_HOTLINE_KEYS))}")
    organisation = _text(raw.get("organisation"))
    if not organisation:
        problems.append(f"{where}: missing 'organisation'")

    countries = []
    for code in _code_list(where, "countries", raw.get("countries"), problems) or []:
        upper = code.upper()
        if upper == ANYWHERE or upper in ISO_COUNTRIES:
            countries.append(upper)
        else:
            hint = f" (use {_COUNTRY_ALIASES[upper]})" if upper in _COUNTRY_ALIASES else ""
            problems.append(f"{where}: {code!r} is not an ISO 3166-1 alpha-2 country code{hint}")

    languages = []
    for code in _code_list(where, "languages", raw.get("languages"), problems) or []:
        if code == ANYWHERE or _LANG_CODE.fullmatch(code):
            languages.append(code)
        else:
            problems.append(f"{where}: {code!r} is not an ISO 639-1 language code (two lower-case letters)")

    phone, whatsapp = _text(raw.get("phone")), _text(raw.get("whatsapp"))
    if not phone and not whatsapp:
        problems.append(f"{where}: no 'phone' and no 'whatsapp'; give at least one way to reach the line")
    if whatsapp and not _WHATSAPP.fullmatch(whatsapp):
        problems.append(f"{where}: whatsapp {whatsapp!r} is not a phone number such as +44 7700 900123")

    categories = raw.get("categories") or []
    if not isinstance(categories, list):
        problems.append(f"{where}: 'categories' must be a list")
        categories = []
    for name in categories:
        if name not in CATEGORIES:
            problems.append(f"{where}: unknown category {name!r}; use one of {', '.join(CATEGORIES)}")

    flags = {}
    for key in ("example", "emergency"):
        value = raw.get(key, False)
        if not isinstance(value, bool):
            problems.append(f"{where}: '{key}' must be true or false")
        flags[key] = value is True
    if flags["example"] and flags["emergency"]:
        problems.append(f"{where}: the emergency-services entry cannot be an example")

    translations = _check_translations(where, raw.get("translations"), problems)
    if len(problems) > before:
        return None
    return Hotline(
        organisation=organisation,
        countries=tuple(countries),
        languages=tuple(languages),
        phone=phone,
        whatsapp=whatsapp,
        hours=_text(raw.get("hours")),
        categories=tuple(str(c) for c in categories),
        note=_text(raw.get("note")),
        example=flags["example"],
        emergency=flags["emergency"],
        translations=translations,
    )


def _check_translations(where: str, raw: object, problems: list[str]) -> dict[str, dict[str, str]]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.append(f"{where}: 'translations' must map a language code to translated fields")
        return {}
    translations: dict[str, dict[str, str]] = {}
    for lang, fields in raw.items():
        if not _LANG_CODE.fullmatch(str(lang)) or not isinstance(fields, dict):
            problems.append(f"{where}: translations for {lang!r} must be a language code with a block of fields")
            continue
        unknown = sorted(set(map(str, fields)) - set(_TRANSLATABLE))
        if unknown:
            problems.append(
                f"{where}: translations for {lang!r} have unknown field(s) {', '.join(unknown)}; "
                f"translatable: {', '.join(_TRANSLATABLE)}"
            )
            continue
        translations[str(lang)] = {str(k): _text(v) for k, v in fields.items() if _text(v)}
    return translations
