"""The hotline directory an NGO edits (``hotlines.yaml``), validated, and the choice of lines for
one person.

Every problem in the file is reported at once with its entry, because an NGO editing YAML should
fix everything in one pass and because a bad entry (an unknown country, a line with no number)
must be caught before it reaches a person in danger.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

from knowledge.content_check import LANGUAGE_CODE, raise_problems, read_yaml, text_field
from knowledge.safety.errors import SafetyError
from knowledge.settings import DATA_DIR
from knowledge.vocab import FALLBACK_CATEGORY, URGENCY_CATEGORIES

HOTLINES_FILE = DATA_DIR / "hotlines.yaml"
MAX_HOTLINES = 3  # NGO lines shown before the emergency-services line
ANYWHERE = "*"

_TRANSLATABLE = ("organisation", "phone", "whatsapp", "hours", "note")
_HOTLINE_KEYS = frozenset(
    {"organisation", "countries", "languages", "phone", "whatsapp", "hours", "categories", "note",
     "example", "emergency", "translations"}
)
_WHATSAPP = re.compile(r"\+?[0-9][0-9 ()-]{4,}")
_COUNTRY_ALIASES = {"UK": "GB"}  # the one non-ISO code people type most often
_CATEGORIES = (*URGENCY_CATEGORIES, FALLBACK_CATEGORY)

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
        fields = self.translations.get(lang, {})
        return replace(
            self,
            organisation=fields.get("organisation", self.organisation),
            phone=fields.get("phone", self.phone),
            whatsapp=fields.get("whatsapp", self.whatsapp),
            hours=fields.get("hours", self.hours),
            note=fields.get("note", self.note),
        )


class HotlineDirectory:
    """The validated content of ``hotlines.yaml``, in the NGO's order."""

    def __init__(self, entries: Sequence[Hotline]):
        self.entries = tuple(entries)

    @classmethod
    def load(cls, path: Path | None = None) -> HotlineDirectory:
        path = Path(path) if path is not None else HOTLINES_FILE
        problems: list[str] = []
        data = read_yaml(path, problems)
        if not problems and not isinstance(data, list):
            problems.append(f"{path}: expected a list of entries (each one starting with '- organisation:')")
        raise_problems(path.name, problems, SafetyError)
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
        raise_problems(path.name, problems, SafetyError)
        return cls(entries)

    @property
    def has_examples(self) -> bool:
        """True while the fictional entries shipped with the project are still in the directory (the
        action server warns at start-up: they must be replaced before going live)."""
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


@cache
def default_directory() -> HotlineDirectory:
    """The bundled directory, loaded once."""
    return HotlineDirectory.load()


def normalise_country(country: str | None) -> str | None:
    """An ISO 3166-1 alpha-2 code in upper case, or None when it is not one (only lines for anywhere fit)."""
    code = (country or "").strip().upper()
    code = _COUNTRY_ALIASES.get(code, code)
    return code if code in ISO_COUNTRIES else None


def _name_of(raw: object) -> str:
    name = text_field(raw.get("organisation")) if isinstance(raw, dict) else ""
    return f", {name!r}" if name else ""


def _check_hotline(where: str, raw: object, problems: list[str]) -> Hotline | None:
    if not isinstance(raw, dict):
        problems.append(f"{where}: expected an entry with organisation, countries, languages and phone or whatsapp")
        return None
    before = len(problems)
    unknown = sorted(set(map(str, raw)) - _HOTLINE_KEYS)
    if unknown:
        problems.append(f"{where}: unknown field(s) {', '.join(unknown)}; allowed: {', '.join(sorted(_HOTLINE_KEYS))}")
    organisation = text_field(raw.get("organisation"))
    if not organisation:
        problems.append(f"{where}: missing 'organisation'")
    countries = _check_countries(where, raw.get("countries"), problems)
    languages = _check_languages(where, raw.get("languages"), problems)
    phone, whatsapp = _check_contact(where, raw, problems)
    categories = _check_categories(where, raw.get("categories"), problems)
    example, emergency = _check_flags(where, raw, problems)
    translations = _check_translations(where, raw.get("translations"), problems)
    if len(problems) > before:
        return None
    return Hotline(
        organisation=organisation,
        countries=countries,
        languages=languages,
        phone=phone,
        whatsapp=whatsapp,
        hours=text_field(raw.get("hours")),
        categories=categories,
        note=text_field(raw.get("note")),
        example=example,
        emergency=emergency,
        translations=translations,
    )


def _code_list(where: str, key: str, raw: object, problems: list[str]) -> list[str]:
    if not isinstance(raw, list) or not raw:
        problems.append(f"{where}: '{key}' must be a non-empty list (use ['*'] for any)")
        return []
    return [str(c).strip() for c in raw]


def _check_countries(where: str, raw: object, problems: list[str]) -> tuple[str, ...]:
    countries = []
    for code in _code_list(where, "countries", raw, problems):
        upper = code.upper()
        if upper == ANYWHERE or upper in ISO_COUNTRIES:
            countries.append(upper)
        else:
            hint = f" (use {_COUNTRY_ALIASES[upper]})" if upper in _COUNTRY_ALIASES else ""
            problems.append(f"{where}: {code!r} is not an ISO 3166-1 alpha-2 country code{hint}")
    return tuple(countries)


def _check_languages(where: str, raw: object, problems: list[str]) -> tuple[str, ...]:
    languages = []
    for code in _code_list(where, "languages", raw, problems):
        if code == ANYWHERE or LANGUAGE_CODE.fullmatch(code):
            languages.append(code)
        else:
            problems.append(f"{where}: {code!r} is not an ISO 639-1 language code (two lower-case letters)")
    return tuple(languages)


def _check_contact(where: str, raw: Mapping[str, object], problems: list[str]) -> tuple[str, str]:
    phone, whatsapp = text_field(raw.get("phone")), text_field(raw.get("whatsapp"))
    if not phone and not whatsapp:
        problems.append(f"{where}: no 'phone' and no 'whatsapp'; give at least one way to reach the line")
    if whatsapp and not _WHATSAPP.fullmatch(whatsapp):
        problems.append(f"{where}: whatsapp {whatsapp!r} is not a phone number such as +44 7700 900123")
    return phone, whatsapp


def _check_categories(where: str, raw: object, problems: list[str]) -> tuple[str, ...]:
    categories = raw or []
    if not isinstance(categories, list):
        problems.append(f"{where}: 'categories' must be a list")
        return ()
    for name in categories:
        if name not in _CATEGORIES:
            problems.append(f"{where}: unknown category {name!r}; use one of {', '.join(_CATEGORIES)}")
    return tuple(str(c) for c in categories)


def _check_flags(where: str, raw: Mapping[str, object], problems: list[str]) -> tuple[bool, bool]:
    flags = {}
    for key in ("example", "emergency"):
        value = raw.get(key, False)
        if not isinstance(value, bool):
            problems.append(f"{where}: '{key}' must be true or false")
        flags[key] = value is True
    if flags["example"] and flags["emergency"]:
        problems.append(f"{where}: the emergency-services entry cannot be an example")
    return flags["example"], flags["emergency"]


def _check_translations(where: str, raw: object, problems: list[str]) -> dict[str, dict[str, str]]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.append(f"{where}: 'translations' must map a language code to translated fields")
        return {}
    translations: dict[str, dict[str, str]] = {}
    for lang, fields in raw.items():
        if not LANGUAGE_CODE.fullmatch(str(lang)) or not isinstance(fields, dict):
            problems.append(f"{where}: translations for {lang!r} must be a language code with a block of fields")
            continue
        unknown = sorted(set(map(str, fields)) - set(_TRANSLATABLE))
        if unknown:
            problems.append(
                f"{where}: translations for {lang!r} have unknown field(s) {', '.join(unknown)}; "
                f"translatable: {', '.join(_TRANSLATABLE)}"
            )
            continue
        translations[str(lang)] = {str(k): text_field(v) for k, v in fields.items() if text_field(v)}
    return translations
