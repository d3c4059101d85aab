"""The case store on SQLite, and on PostgreSQL when one is given: operators, the queue, its rules
and retention."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

from channels.cases import CaseError, CaseStore, check_password, hash_password, metadata


@pytest.fixture(params=["sqlite", "postgresql"])
def case_store(request: pytest.FixtureRequest, tmp_path) -> Iterator[CaseStore]:
    """The same case code on SQLite (default) and on PostgreSQL (production), when one is given:
    CASES_TEST_POSTGRES_URL=postgresql://user:password@127.0.0.1/db (.ci/run starts one)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'c.sqlite3'}"
    else:
        url = os.environ.get("CASES_TEST_POSTGRES_URL", "")
        if not url:
            pytest.skip("no PostgreSQL here: set CASES_TEST_POSTGRES_URL to run the case store on it")
    store = CaseStore(url)
    yield store
    metadata.drop_all(store.engine)
    store.close()


def test_retention_deletes_old_closed_cases_and_keeps_recent(case_store: CaseStore) -> None:
    store = case_store
    store.add_operator("amal", "correct horse battery")
    _, session = store.sign_in("amal", "correct horse battery")
    old = store.open_case("telegram-a", "telegram", "en", "detention", 7, "detention", [], "s", [("person", "x", 1.0)])
    new = store.open_case("telegram-b", "telegram", "en", "medical", 9, "health", [], "s", [("person", "y", 1.0)])
    store.close_case(old, session)
    store.close_case(new, session)
    removed = store.purge(cutoff=time.time() + 1)  # everything closed before now+1 s is "old"
    assert removed == {"cases": 2}
    still_open = store.open_case("telegram-c", "telegram", "en", "medical", 9, "health", [], "s", [])
    assert store.purge(cutoff=time.time() + 1) == {"cases": 0}
    assert store.get(still_open).status == "open"
    store.close_case(still_open, session)
    assert store.purge(cutoff=time.time() - 3600) == {"cases": 0}, "closed an hour ago or less: kept"


def test_cases_queue_and_rules(case_store: CaseStore) -> None:
    store = case_store
    store.add_operator("amal", "correct horse battery")
    store.add_operator("ben", "another long password")
    _, amal = store.sign_in("amal", "correct horse battery")
    _, ben = store.sign_in("ben", "another long password")
    assert store.sign_in("amal", "wrong password!!") is None and store.sign_in("nobody", "x" * 12) is None
    docs = store.open_case("c1", "telegram", "en", "documents", 6, "", [], "", [], now=100.0)
    medical = store.open_case("c2", "telegram", "es", "medical", 9, "", [], "", [], now=200.0)
    request = store.open_case("c3", "telegram", "fr", "", 1, "", [], "", [], now=50.0)
    assert [c.id for c in store.queue()] == [medical, docs, request]
    assert store.open_case("c1", "telegram", "en", "violence", 8, "", [], "", [], now=300.0) == docs
    assert store.get(docs).category == "violence", "a second alert raises the urgency of the open case"
    store.claim(medical, amal)
    for action in (lambda: store.claim(medical, ben), lambda: store.record_reply(medical, ben, "hi"),
                   lambda: store.record_reply(docs, amal, "not claimed")):
        try:
            action()
        except CaseError:
            continue
        raise AssertionError("should have been refused")
    actions = [row["action"] for row in store.audit_log()]
    assert actions.count("sign_in") == 2 and "claim" in actions
    with store.engine.connect() as db:
        password_hash = db.exec_driver_sql("SELECT password_hash FROM operators").fetchall()
    assert all(h[0].startswith("scrypt$") and "correct" not in h[0] for h in password_hash)


def test_operator_names_show_who_claimed(case_store: CaseStore) -> None:
    amal = case_store.add_operator("amal", "correct horse battery")
    ben = case_store.add_operator("ben", "another long password")
    assert case_store.operator_names() == {amal: "amal", ben: "ben"}
    with pytest.raises(CaseError, match="exists already"):
        case_store.add_operator("amal", "correct horse battery")


def test_a_request_for_a_person_ranks_below_urgent_cases_and_says_request(case_store: CaseStore) -> None:
    plain = case_store.open_case("c1", "webchat", "en", "", 1, "", [], "", [], now=1.0)
    urgent = case_store.open_case("c2", "webchat", "en", "documents", 6, "", [], "", [], now=2.0)
    assert [c.id for c in case_store.queue()] == [urgent, plain]
    assert case_store.get(plain).category == "request"
    assert case_store.open_case("c1", "webchat", "en", "", 1, "", [], "later summary", [], now=3.0) == plain
    assert (case_store.get(plain).category, case_store.get(plain).summary) == ("request", "later summary")


def test_passwords_are_salted_scrypt() -> None:
    first, second = hash_password("correct horse battery"), hash_password("correct horse battery")
    assert first != second and first.startswith("scrypt$")
    assert check_password("correct horse battery", first) and not check_password("correct horse batterz", first)
    assert not check_password("x", "md5$00$00") and not check_password("x", "garbage")
