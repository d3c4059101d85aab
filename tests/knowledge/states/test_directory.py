"""The States file: validated on load, totals that add up, and a sample of facts checked by hand
against the UN Treaty Collection's status list (chapter IV-13) and a second source each."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from knowledge.states import Day, StatesDirectory, StatesError, default_states
from knowledge.states.directory import STATES_FILE


def test_totals_match_the_published_figures() -> None:
    states = default_states()
    assert states.as_of == dt.date(2025, 2, 21)
    assert len(states.parties()) == 60  # UN Geneva, close of the Committee's 40th session: 60 parties
    assert len(states.signatories()) == 11
    assert sum(s.un == "member" for s in states.states) == 193
    assert {s.iso for s in states.states if s.un == "observer"} == {"VA", "PS"}
    assert len(states.sources) >= 2


@pytest.mark.parametrize("iso,status,day,how", [
    ("SN", "party", Day(1999, 6, 9), "accession"),
    ("PH", "party", Day(1995, 7, 5), "ratification"),
    ("MX", "party", Day(1999, 3, 8), "ratification"),
    ("BD", "party", Day(2011, 8, 24), "ratification"),
    ("EG", "party", Day(1993, 2, 19), "accession"),
    ("CL", "party", Day(2005, 3, 21), "ratification"),
    ("ZW", "party", Day(2024, 11), "accession"),
    ("AM", "signed", Day(2013, 9, 26), None),
    ("KH", "signed", Day(2004, 9, 27), None),
])
def test_sample_of_facts(iso: str, status: str, day: Day, how: str | None) -> None:
    state = default_states().get(iso)
    assert state is not None and state.status == status
    assert (state.party if status == "party" else state.signed) == day
    assert state.how == how


@pytest.mark.parametrize("iso", ["SA", "AE", "QA", "KW", "BH", "OM", "MY", "SG", "TH", "GB", "US", "IN", "JP",
                                 "ES", "FR", "IT", "DE", "LB", "JO"])
def test_the_big_destinations_are_not_parties(iso: str) -> None:
    state = default_states().get(iso)
    assert state is not None and state.status == "none" and not state.bound


def test_every_state_has_a_name_in_every_corpus_language() -> None:
    for state in default_states().states:
        assert all(state.name(lang) for lang in ("en", "es", "fr", "ar")), state.iso


def _write(tmp_path: Path, change) -> Path:
    data = yaml.safe_load(STATES_FILE.read_text("utf-8"))
    change(data)
    path = tmp_path / "states.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    return path


def test_a_party_count_that_differs_from_the_published_total_is_refused(tmp_path: Path) -> None:
    def drop_senegal(data):
        row = next(r for r in data["states"] if r["iso"] == "SN")
        row.update(status="none", party=None, how=None)

    with pytest.raises(StatesError, match="59 rows are parties, but total_parties"):
        StatesDirectory.load(_write(tmp_path, drop_senegal))


def test_every_problem_is_listed_at_once(tmp_path: Path) -> None:
    def break_rows(data):
        data["states"][0]["party"] = "2007-13-40"
        data["states"][1]["region"] = "Atlantis"
        data["states"][2]["names"].pop("ar")
        data["states"][3]["art77"] = "maybe"

    with pytest.raises(StatesError) as caught:
        StatesDirectory.load(_write(tmp_path, break_rows))
    message = str(caught.value)
    for problem in ("is not a date", "region 'Atlantis'", "names missing in ar", "art77 must be true, false or null"):
        assert problem in message
