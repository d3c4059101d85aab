"""Which States the Convention binds: every State's status, dated and sourced, from one data file.

``content/data/states.yaml`` lists every UN member and observer State (and a few territories
people write from) with its ISO 3166 code, its names in each corpus language and the short forms
people type, its status under the Convention (party, with the date and whether by ratification or
accession; signed only, with the date; none), its declarations under articles 76 and 77, and the
file's "as of" date and sources. Loading checks every row and that the number of parties is the
published total the file states, so a stale or half-edited file fails at start-up, not in an answer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from knowledge.content_check import language_files, raise_problems, read_yaml
from knowledge.errors import KnowledgeError
from knowledge.settings import DATA_DIR, LANGUAGES_DIR
from knowledge.vocab import COMPLETE_LANGUAGES

STATES_FILE = DATA_DIR / "states.yaml"
STATUSES = ("party", "signed", "none")
HOW = ("ratification", "accession", "succession")
UN_KINDS = ("member", "observer", "other")
# Declarations needed before the procedures of articles 76 and 77 come into force (arts 76(2), 77(8)).
DECLARATIONS_IN_FORCE = 10


@dataclass(frozen=True)
class Day:
    """A date known to the day, the month or only the year (a source may give "2013" only)."""

    year: int
    month: int | None = None
    day: int | None = None

    @classmethod
    def parse(cls, value: Any) -> Day:
        """``2013``, ``"2010-10"``, ``"2007-06-05"`` (or a date) -> a Day; ValueError otherwise."""
        if isinstance(value, dt.date):
            return cls(value.year, value.month, value.day)
        parts = [int(p) for p in str(value).split("-")]
        if not 1 <= len(parts) <= 3:
            raise ValueError(value)
        dt.date(parts[0], *(parts[1:] + [1] * (3 - len(parts))))  # a real calendar date
        return cls(*parts)


class StatesError(KnowledgeError):
    """``states.yaml`` is malformed or its totals do not add up; the message lists every problem."""


@dataclass(frozen=True)
class State:
    """One State (or territory) and what the Convention means for it."""

    iso: str
    region: str
    un: str
    status: str  # party | signed | none
    names: dict[str, tuple[str, ...]]  # per language: the name to print first, then forms people type
    signed: Day | None = None
    party: Day | None = None
    how: str | None = None
    art76: bool | None = False  # None: reported, but not confirmed from two sources
    art77: bool | None = False
    part_of: str | None = None
    cities: dict[str, tuple[str, ...]] = field(default_factory=dict)
    ambiguous: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def name(self, lang: str) -> str:
        """The name to print in ``lang`` (English when the file has none in it)."""
        return (self.names.get(lang) or self.names["en"])[0]

    @property
    def bound(self) -> bool:
        return self.status == "party"


@dataclass(frozen=True)
class StatesDirectory:
    """The validated content of ``states.yaml``."""

    states: tuple[State, ...]
    as_of: dt.date
    sources: tuple[str, ...]
    regions: dict[str, dict[str, str]]  # English region name -> its name per language
    _by_iso: dict[str, State] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_iso", {s.iso: s for s in self.states})

    def get(self, iso: str | None) -> State | None:
        return self._by_iso.get((iso or "").upper())

    def parties(self) -> list[State]:
        return [s for s in self.states if s.status == "party"]

    def signatories(self) -> list[State]:
        """States that signed and have not (yet) ratified."""
        return [s for s in self.states if s.status == "signed"]

    def declared(self, article: int) -> list[State]:
        """States whose declaration under article 76 or 77 is confirmed."""
        return [s for s in self.states if (s.art76 if article == 76 else s.art77) is True]

    def region_name(self, region: str, lang: str) -> str:
        return self.regions.get(region, {}).get(lang) or region

    @classmethod
    def load(cls, path: Path | None = None) -> StatesDirectory:
        path = Path(path) if path is not None else STATES_FILE
        problems: list[str] = []
        data = read_yaml(path, problems)
        if not problems and not (isinstance(data, dict) and isinstance(data.get("states"), list)):
            problems.append(f"{path}: expected as_of, total_parties, sources, regions and a list of states")
        raise_problems(path.name, problems, StatesError)
        as_of = _day(data.get("as_of"), f"{path}: as_of", problems)
        if as_of is not None and as_of.day is None:
            problems.append(f"{path}: as_of must be a full date (YYYY-MM-DD)")
        sources = tuple(str(s) for s in data.get("sources") or ())
        if len(sources) < 2:
            problems.append(f"{path}: sources: name at least two sources the statuses were checked against")
        _merge_language_folders(data, problems)
        regions = {str(k): {str(lang): str(n) for lang, n in (v or {}).items()}
                   for k, v in (data.get("regions") or {}).items()}
        states = [_state(f"{path}: states[{i}]", row, regions, problems) for i, row in enumerate(data["states"])]
        found = [s for s in states if s is not None]
        _check_totals(path, data, found, problems)
        raise_problems(path.name, problems, StatesError)
        assert as_of is not None and as_of.month is not None and as_of.day is not None
        return cls(tuple(found), dt.date(as_of.year, as_of.month, as_of.day), sources, regions)


# What a language folder's names.yaml adds to each row: (its key there, the row's key).
_FOLDER_NAMES = (("states", "names"), ("cities", "cities"), ("ambiguous", "ambiguous"))


def _merge_language_folders(data: dict[str, Any], problems: list[str]) -> None:
    """Add the names a language keeps in its folder (``content/languages/<lang>/names.yaml``:
    ``regions`` by English name, ``states``, ``cities`` and ``ambiguous`` by ISO code)."""
    rows = {str(row.get("iso")): row for row in data["states"] if isinstance(row, dict)}
    regions = data.setdefault("regions", {})
    for lang, block in language_files("names.yaml", problems).items():
        where = f"{LANGUAGES_DIR / lang / 'names.yaml'}"
        for region, name in (block.get("regions") or {}).items():
            if region not in regions:
                problems.append(f"{where}: region {region!r} is not in the states file's regions")
                continue
            regions[region] = {**(regions[region] or {}), lang: name}
        for key, field_name in _FOLDER_NAMES:
            for iso, names in (block.get(key) or {}).items():
                if str(iso) not in rows:
                    problems.append(f"{where}: {key}: {iso} is not a state of the states file")
                    continue
                row = rows[str(iso)]
                row[field_name] = {**(row.get(field_name) or {}), lang: names}


def _day(value: Any, where: str, problems: list[str]) -> Day | None:
    try:
        return Day.parse(value)
    except (TypeError, ValueError):
        problems.append(f"{where}: {value!r} is not a date (YYYY-MM-DD, or YYYY-MM or YYYY when the day is not known)")
        return None


def _names(raw: Any) -> dict[str, tuple[str, ...]]:
    if not isinstance(raw, dict):
        return {}
    return {str(lang): tuple(str(n) for n in (v or ()) if str(n).strip()) for lang, v in raw.items()}


def _state(where: str, row: Any, regions: dict[str, dict[str, str]], problems: list[str]) -> State | None:
    if not isinstance(row, dict):
        problems.append(f"{where}: expected a mapping")
        return None
    iso = str(row.get("iso", ""))
    where = f"{where} ({iso or '?'})"
    names = _names(row.get("names"))
    before = len(problems)
    if not (len(iso) == 2 and iso.isascii() and iso.isupper()):
        problems.append(f"{where}: iso must be an ISO 3166-1 alpha-2 code such as OM")
    missing = [lang for lang in COMPLETE_LANGUAGES if not names.get(lang)]
    if missing:
        problems.append(f"{where}: names missing in {', '.join(missing)}")
    status, how = row.get("status"), row.get("how")
    if status not in STATUSES:
        problems.append(f"{where}: status must be one of {', '.join(STATUSES)}")
    if row.get("un", "member") not in UN_KINDS:
        problems.append(f"{where}: un must be one of {', '.join(UN_KINDS)}")
    if str(row.get("region", "")) not in regions:
        problems.append(f"{where}: region {row.get('region')!r} is not in the file's regions")
    signed = _day(row["signed"], f"{where}: signed", problems) if row.get("signed") else None
    party = _day(row["party"], f"{where}: party", problems) if row.get("party") else None
    if status == "party" and (party is None or how not in (*HOW, None)):
        problems.append(f"{where}: a party needs 'party:' (its date) and 'how:' ({', '.join(HOW)}, or null if unknown)")
    if status == "signed" and party is not None:
        problems.append(f"{where}: 'signed' (signed only) cannot have a 'party:' date")
    if status == "none" and (signed or party):
        problems.append(f"{where}: status none, but dates are given")
    for article in ("art76", "art77"):
        if row.get(article, False) not in (True, False, None):
            problems.append(f"{where}: {article} must be true, false or null (reported, not confirmed)")
        elif row.get(article, False) is not False and status != "party":
            problems.append(f"{where}: only a party can make the declaration of {article}")
    if len(problems) > before:
        return None
    return State(iso, str(row["region"]), str(row.get("un", "member")), str(status), names, signed, party,
                 str(how) if how else None, row.get("art76", False), row.get("art77", False),
                 row.get("part_of"), _names(row.get("cities")), _names(row.get("ambiguous")))


def _check_totals(path: Path, data: dict[str, Any], states: list[State], problems: list[str]) -> None:
    seen: set[str] = set()
    for s in states:
        if s.iso in seen:
            problems.append(f"{path}: {s.iso} is listed twice")
        seen.add(s.iso)
    parties = sum(s.status == "party" for s in states)
    if parties != data.get("total_parties"):
        problems.append(f"{path}: {parties} rows are parties, but total_parties (the published total for "
                        f"as_of) is {data.get('total_parties')!r}")
    members = sum(s.un == "member" for s in states)
    if members != 193:
        problems.append(f"{path}: {members} UN member States listed; there are 193")


@cache
def default_states() -> StatesDirectory:
    """The bundled file, loaded once."""
    return StatesDirectory.load()
