"""The case store on SQLite, and on PostgreSQL when one is given: operators, the queue, its rules,
retention, sign-in throttling, and what it keeps on disk (sealed texts, a private file)."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from channels import cases
from channels.cases import (
    UNREADABLE,
    CaseError,
    CaseStore,
    SignInLimits,
    SignInLocked,
    check_password,
    hash_password,
    metadata,
)
from channels.keys import Keys, Secret

KEYS = Keys(Secret("case-store-test-secret-0123456789"))
LIMITS = SignInLimits(free_failures=2, lockout_seconds=30.0)
PRIVATE = "they locked me in at 14 Rue des Lilas, flat 3"


@pytest.fixture(autouse=True)
def quick_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(cases.SCRYPT, "n", 2**10)


@pytest.fixture(params=["sqlite", "postgresql"])
def case_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """The same case code on SQLite (default) and on PostgreSQL (production), when one is given:
    CASES_TEST_POSTGRES_URL=postgresql://user:password@127.0.0.1/db (.ci/run starts one)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'c.sqlite3'}"
    else:
        url = os.environ.get("CASES_TEST_POSTGRES_URL", "")
        if not url:
            pytest.skip("no PostgreSQL here: set CASES_TEST_POSTGRES_URL to run the case store on it")
    yield url
    engine = sa.create_engine(url)
    metadata.drop_all(engine)
    engine.dispose()


@pytest.fixture
def case_store(case_url: str) -> Iterator[CaseStore]:
    store = CaseStore(case_url, KEYS)
    yield store
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


# what is kept on disk


def raw(store: CaseStore, sql: str) -> list[str]:
    with store.engine.connect() as db:
        return [str(row[0]) for row in db.exec_driver_sql(sql)]


def test_transcripts_and_summaries_are_sealed_at_rest(case_store: CaseStore) -> None:
    case_id = case_store.open_case("c1", "telegram", "en", "locked_in", 8, "", [], f"Summary: {PRIVATE}",
                                   [("person", PRIVATE, 1.0), ("bot", "Are you safe now?", 2.0)])
    case_store.append(case_id, "operator", f"We are sending someone to {PRIVATE}")
    assert case_store.open_case("c1", "telegram", "en", "locked_in", 8, "", [], f"Later: {PRIVATE}", []) == case_id
    stored = raw(case_store, "SELECT text FROM case_messages") + raw(case_store, "SELECT summary FROM cases")
    assert len(stored) == 4
    for value in stored:
        assert "Lilas" not in value and "safe" not in value and value.startswith("gAAAAA")
    # opened for the operator who views the case
    assert case_store.get(case_id).summary == f"Later: {PRIVATE}"
    assert [m.text for m in case_store.messages(case_id)] == [PRIVATE, "Are you safe now?",
                                                             f"We are sending someone to {PRIVATE}"]


def test_plaintext_rows_of_an_older_store_still_show(case_store: CaseStore) -> None:
    """A case store written before texts were sealed: its rows read as they are."""
    with case_store.engine.begin() as db:
        db.execute(cases.cases.insert().values(
            id=7, conversation="old", channel="telegram", language="en", category="documents", urgency=6,
            topic="", citations="[]", summary="an old summary in clear", status="open", created=1.0, updated=1.0))
        db.execute(cases.case_messages.insert().values(case_id=7, author="person", text="old words", created=1.0))
        db.execute(cases.case_messages.insert().values(case_id=7, author="person", text="gAAAAA, said they",
                                                       created=2.0))
    case_store.append(7, "bot", "a new line")
    assert case_store.get(7).summary == "an old summary in clear"
    assert [m.text for m in case_store.messages(7)] == ["old words", "gAAAAA, said they", "a new line"]
    assert raw(case_store, "SELECT text FROM case_messages ORDER BY id")[2].startswith("gAAAAA")


def test_texts_sealed_under_another_secret_say_so(case_url: str) -> None:
    first = CaseStore(case_url, KEYS)
    case_id = first.open_case("c1", "telegram", "en", "", 1, "", [], PRIVATE, [("person", PRIVATE, 1.0)])
    first.close()
    other = CaseStore(case_url, Keys(Secret("another-gateway-secret-9876543210")))
    try:
        assert other.get(case_id).summary == UNREADABLE
        assert [m.text for m in other.messages(case_id)] == [UNREADABLE]
    finally:
        other.close()


def test_a_store_without_the_gateways_key_keeps_no_text(case_url: str) -> None:
    """``rights operator add`` opens the store without GATEWAY_SECRET: operators only."""
    store = CaseStore(case_url)
    try:
        store.add_operator("amal", "correct horse battery")
        with pytest.raises(CaseError, match="GATEWAY_SECRET"):
            store.open_case("c1", "telegram", "en", "", 1, "", [], PRIVATE, [("person", PRIVATE, 1.0)])
        with pytest.raises(CaseError, match="GATEWAY_SECRET"):
            store.sign_in("amal", "correct horse battery")
        assert raw(store, "SELECT COUNT(*) FROM cases") == ["0"]
    finally:
        store.close()


def test_a_sqlite_case_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "var" / "cases.sqlite3"
    old_umask = os.umask(0o022)  # a usual umask: files would be 0644
    try:
        store = CaseStore(f"sqlite:///{path}", KEYS)
        store.add_operator("amal", "correct horse battery")
        store.open_case("c1", "telegram", "en", "", 1, "", [], PRIVATE, [("person", PRIVATE, 1.0)])
        store.close()
        older = tmp_path / "older.sqlite3"  # made world-readable by an older version: made private
        older.touch(mode=0o644)
        CaseStore(f"sqlite:///{older}", KEYS).close()
    finally:
        os.umask(old_umask)
    for made in [*path.parent.iterdir(), older]:
        assert stat.S_IMODE(made.stat().st_mode) == 0o600, made.name
    store = CaseStore(f"sqlite:///{path}", KEYS)
    try:
        with store.engine.connect() as db:
            assert db.exec_driver_sql("PRAGMA secure_delete").scalar() == 1, "deleted text is overwritten"
    finally:
        store.close()


# sign-in throttling (the console's rules; tests/channels/console/test_signin.py tries them over HTTP)


def attempt(store: CaseStore, password: str, now: float, username: str = "amal",
            address: str = "203.0.113.5") -> bool | float:
    """One sign-in as the console makes it: True signed in, False refused, or the seconds locked."""
    begun = store.begin_sign_in(username, address, LIMITS, now)
    if begun.retry_after > 0:
        return begun.retry_after
    return store.finish_sign_in(begun, check_password(password, begun.password_hash), now) is not None


def test_lockouts_double_up_to_an_hour_and_outlive_the_store(case_url: str) -> None:
    store = CaseStore(case_url, KEYS)
    store.add_operator("amal", "correct horse battery")
    now = 1000.0
    assert [attempt(store, "wrong password!", now) for _ in range(3)] == [False, False, False]
    assert attempt(store, "correct horse battery", now) == 30.0
    seen = []
    for _ in range(10):
        now += 4000.0  # past any lockout
        assert attempt(store, "wrong password!", now) is False
        seen.append(attempt(store, "wrong password!", now))
    assert seen == [60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 3600.0, 3600.0, 3600.0, 3600.0]
    store.close()
    again = CaseStore(case_url, KEYS)  # a restart, or a second gateway on the same database
    elsewhere = "198.51.100.1"  # (203.0.113.5 is locked as an address too by now)
    try:
        assert attempt(again, "correct horse battery", now, address=elsewhere) == 3600.0
        assert attempt(again, "correct horse battery", now + 3600.0, address=elsewhere) is True
        # a success starts the account's count again
        assert [attempt(again, "wrong password!", now + 3600.0, address=elsewhere) for _ in range(2)] == [False] * 2
        with pytest.raises(SignInLocked) as locked:
            for _ in range(2):
                again.sign_in("amal", "wrong password!", now=now + 3600.0, address=elsewhere, limits=LIMITS)
        assert locked.value.retry_after == 30.0
    finally:
        again.close()


def test_failures_are_forgotten_after_a_quiet_day(case_store: CaseStore) -> None:
    case_store.add_operator("amal", "correct horse battery")
    assert [attempt(case_store, "wrong password!", 1000.0) for _ in range(2)] == [False, False]
    later = 1000.0 + 86400 + 1
    assert [attempt(case_store, "wrong password!", later) for _ in range(2)] == [False, False]
    assert attempt(case_store, "wrong password!", later) is False  # the third of the new day locks
    assert attempt(case_store, "correct horse battery", later) == 30.0
    assert case_store.purge(cutoff=0.0, now=later + 86400 + 1) == {"cases": 0}
    assert raw(case_store, "SELECT COUNT(*) FROM sign_in_throttle") == ["0"], "old counters are purged"


def test_throttle_rows_hold_no_name_and_no_address(case_store: CaseStore) -> None:
    attempt(case_store, "wrong password!", 1000.0, username="correct horse battery", address="198.51.100.23")
    (key_a, key_b) = sorted(raw(case_store, "SELECT key FROM sign_in_throttle"))
    assert key_a.startswith("console-account-") and key_b.startswith("console-address-")
    assert "correct" not in key_a + key_b and "198.51" not in key_a + key_b
