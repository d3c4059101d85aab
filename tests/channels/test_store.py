"""The gateway's own SQLite store: schema upgrades of existing files, failures and parking."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from channels.keys import Keys, Secret
from channels.store import GatewayStore
from tests.channels.conftest import SECRET

# The schema of the inbox and outbox as the first release made them (before failures were counted).
FIRST_SCHEMA = """
CREATE TABLE inbox (
    id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, conversation TEXT NOT NULL, channel TEXT NOT NULL,
    envelope BLOB, status TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt REAL NOT NULL, received REAL NOT NULL, expires REAL NOT NULL
);
CREATE INDEX inbox_pending ON inbox (status, conversation, id);
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY, conversation TEXT NOT NULL, channel TEXT NOT NULL, call BLOB NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, next_attempt REAL NOT NULL, created REAL NOT NULL,
    last_error TEXT NOT NULL DEFAULT ''
);
INSERT INTO inbox (key, conversation, channel, envelope, attempts, next_attempt, received, expires)
    VALUES ('k1', 'telegram-a', 'telegram', x'00', 3, 10.0, 10.0, 1000.0);
INSERT INTO outbox (conversation, channel, call, attempts, next_attempt, created)
    VALUES ('telegram-a', 'telegram', x'01', 1, 20.0, 20.0);
"""


def columns(path: Path, table: str) -> set[str]:
    with sqlite3.connect(path) as db:
        return {row[1] for row in db.execute(f"PRAGMA table_info({table})")}


def test_a_database_from_the_first_release_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "gateway.sqlite3"
    with sqlite3.connect(path) as db:
        db.executescript(FIRST_SCHEMA)
    store = GatewayStore(path)
    assert {"failures", "last_error", "parked"} <= columns(path, "inbox")
    assert {"status", "failures", "parked"} <= columns(path, "outbox")
    (message,) = store.due_inbox(100.0, (), 10)
    assert (message.conversation, message.attempts, message.failures) == ("telegram-a", 3, 0)
    (reply,) = store.due_outbox(100.0, (), 10)
    assert (reply.attempts, reply.failures) == (1, 0)
    assert store.backlog() == 1
    store.close()
    GatewayStore(path).close()  # a second start finds nothing to add


def test_failures_are_counted_then_the_row_is_parked(tmp_path: Path) -> None:
    store = GatewayStore(tmp_path / "g.sqlite3")
    first = store.accept("k1", "telegram-a", "telegram", b"x", now=10.0, expires=1000.0)
    second = store.accept("k2", "telegram-a", "telegram", b"y", now=11.0, expires=1000.0)
    assert first is not None and second is not None
    assert store.fail_inbox(first, "SealError", now=12.0, next_attempt=50.0, park_after=3) is False
    assert store.due_inbox(20.0, (), 10) == [], "not due before its next attempt; nor is the one behind it"
    (row,) = store.due_inbox(50.0, (), 10)
    assert (row.id, row.failures, row.attempts) == (first, 1, 0)
    assert store.fail_inbox(first, "SealError", now=51.0, next_attempt=60.0, park_after=3) is False
    assert store.fail_inbox(first, "KeyError", now=61.0, next_attempt=70.0, park_after=3) is True
    assert store.inbox_status(first) == "failed"
    (row,) = store.due_inbox(61.0, (), 10)
    assert row.id == second, "the person's next message is no longer held up"
    assert store.fail_inbox(first, "KeyError", now=62.0, next_attempt=70.0, park_after=3) is False, "parked once"

    stats = store.stats()
    assert (stats.inbox_pending, stats.oldest_inbox, stats.parked_inbox) == (1, 11.0, 1)
    (parked,) = store.parked()
    assert (parked.queue, parked.id, parked.since, parked.parked, parked.failures, parked.reason) == (
        "inbox", first, 10.0, 61.0, 3, "KeyError")


def test_parked_replies_leave_the_outbox_queue(tmp_path: Path) -> None:
    store = GatewayStore(tmp_path / "g.sqlite3")
    store.complete_inbox(None, [("telegram-a", "telegram", b"1"), ("telegram-a", "telegram", b"2")], [], now=5.0)
    first, second = (row[0] for row in store._query("SELECT id FROM outbox ORDER BY id"))
    assert store.fail_outbox(first, "SealError", now=6.0, next_attempt=6.0, park_after=1) is True
    (row,) = store.due_outbox(7.0, (), 10)
    assert row.id == second
    assert store.backlog() == 1 and store.next_outbox_time() == 5.0
    stats = store.stats()
    assert (stats.outbox_pending, stats.oldest_outbox, stats.parked_outbox) == (1, 5.0, 1)


def test_retention_deletes_parked_rows_after_the_period(tmp_path: Path) -> None:
    store = GatewayStore(tmp_path / "g.sqlite3")
    old = store.accept("k1", "telegram-a", "telegram", b"x", now=100.0, expires=10**9)
    new = store.accept("k2", "telegram-b", "telegram", b"y", now=5000.0, expires=10**9)
    assert old is not None and new is not None
    for row in (old, new):
        store.fail_inbox(row, "SealError", now=5000.0, next_attempt=5000.0, park_after=1)
    store.complete_inbox(None, [("telegram-a", "telegram", b"1")], [], now=100.0)
    (reply,) = store.due_outbox(200.0, (), 10)
    store.fail_outbox(reply.id, "SealError", now=200.0, next_attempt=200.0, park_after=1)
    removed = store.purge(now=5050.0, keep_seconds=1000.0)
    assert removed["parked"] == 2
    assert [row.id for row in store.parked()] == [new]


def test_store_forget_and_purge(tmp_path) -> None:
    store = GatewayStore(tmp_path / "g.sqlite3")
    keys = Keys(Secret(SECRET))
    conv = keys.pseudonym("telegram", "42")
    row = store.accept("k1", conv, "telegram", keys.seal({"a": 1}), now=100.0, expires=200.0)
    assert row is not None and store.accept("k1", conv, "telegram", b"", now=101.0, expires=201.0) is None
    store.complete_inbox(row, [(conv, "telegram", b"call")], [(conv, '{"text": "hi"}')], now=100.0,
                         options=(conv, ["/a"]))
    store.remember(conv, "telegram", keys.seal({"user_id": "42"}), now=100.0)
    other = keys.pseudonym("telegram", "43")
    store.remember(other, "telegram", b"x", now=100.0)
    assert store.forget(conv) == {"inbox": 1, "outbox": 1, "contacts": 1, "mailbox": 1, "options": 1}
    assert store.contact(conv) is None and store.contact(other) is not None
    assert store.accept("k1", conv, "telegram", b"", now=102.0, expires=202.0) is not None

    # retention: the done dedupe record expires; contacts idle past the limit go, recent stay
    (pending,) = store.due_inbox(1e9, (), 10)
    store.complete_inbox(pending.id, [], [], now=102.0)
    store.remember(keys.pseudonym("telegram", "44"), "telegram", b"y", now=10_000.0)
    removed = store.purge(now=10_050.0, keep_seconds=1000.0)
    assert removed == {"inbox": 1, "contacts": 1, "mailbox": 0, "parked": 0}
    assert store.contact(keys.pseudonym("telegram", "44")) is not None
