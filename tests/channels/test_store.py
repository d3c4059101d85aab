"""The gateway's own SQLite store: schema upgrades of existing files, failures and parking."""

from __future__ import annotations

import os
import sqlite3
import stat
from dataclasses import dataclass
from pathlib import Path

from channels.keys import Keys, Secret
from channels.store import GatewayStore, LeaseLost, fair_share
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
    assert {"failures", "last_error", "parked", "owner", "lease_until"} <= columns(path, "inbox")
    assert {"status", "failures", "parked", "owner", "lease_until"} <= columns(path, "outbox")
    (message,) = store.claim_inbox("g", now=100.0, until=115.0, limit=10)
    assert (message.conversation, message.attempts, message.failures) == ("telegram-a", 3, 0)
    (reply,) = store.claim_outbox("g", now=100.0, until=115.0, limit=10)
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
    assert store.claim_inbox("g", now=20.0, until=35.0, limit=10) == [], \
        "not due before its next attempt; nor is the one behind it"
    (row,) = store.claim_inbox("g", now=50.0, until=65.0, limit=10)
    assert (row.id, row.failures, row.attempts) == (first, 1, 0)
    assert store.fail_inbox(first, "SealError", now=51.0, next_attempt=60.0, park_after=3, owner="g") is False
    (row,) = store.claim_inbox("g", now=60.0, until=75.0, limit=10)
    assert store.fail_inbox(first, "KeyError", now=61.0, next_attempt=70.0, park_after=3, owner="g") is True
    assert store.inbox_status(first) == "failed"
    (row,) = store.claim_inbox("g", now=61.0, until=76.0, limit=10)
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
    (row,) = store.claim_outbox("g", now=7.0, until=22.0, limit=10)
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
    (reply,) = store.claim_outbox("g", now=200.0, until=215.0, limit=10)
    store.fail_outbox(reply.id, "SealError", now=200.0, next_attempt=200.0, park_after=1, owner="g")
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
    (pending,) = store.claim_inbox("g", now=1e9, until=1e9 + 15, limit=10)
    store.complete_inbox(pending.id, [], [], now=102.0, owner="g")
    store.remember(keys.pseudonym("telegram", "44"), "telegram", b"y", now=10_000.0)
    removed = store.purge(now=10_050.0, keep_seconds=1000.0)
    assert removed == {"inbox": 1, "contacts": 1, "mailbox": 0, "parked": 0}
    assert store.contact(keys.pseudonym("telegram", "44")) is not None


# claims: one worker of one gateway at a time (the security report's runs D and F)


def test_a_claimed_conversation_is_not_taken_by_another_gateway_until_the_claim_lapses(tmp_path: Path) -> None:
    first, second = GatewayStore(tmp_path / "g.sqlite3"), GatewayStore(tmp_path / "g.sqlite3")
    a1 = first.accept("k1", "telegram-a", "telegram", b"x", now=10.0, expires=1000.0)
    a2 = first.accept("k2", "telegram-a", "telegram", b"y", now=11.0, expires=1000.0)
    b1 = first.accept("k3", "telegram-b", "telegram", b"z", now=12.0, expires=1000.0)
    assert [row.id for row in first.claim_inbox("one", now=20.0, until=35.0, limit=1)] == [a1]
    (row,) = second.claim_inbox("two", now=21.0, until=100.0, limit=8)
    assert row.id == b1, "conversation a is claimed: neither its first nor its second message is taken"
    assert second.claim_inbox("two", now=34.0, until=49.0, limit=8) == []
    assert first.renew("one", until=50.0, inbox=[a1], outbox=[]) == 1
    assert second.claim_inbox("two", now=40.0, until=55.0, limit=8) == [], "renewed: still held"
    (taken,) = second.claim_inbox("two", now=51.0, until=66.0, limit=8)
    assert taken.id == a1, "the first gateway stopped renewing (it died): its claim lapsed"
    assert first.renew("one", until=70.0, inbox=[a1], outbox=[]) == 0
    try:
        first.complete_inbox(a1, [("telegram-a", "telegram", b"reply")], [], now=52.0, owner="one")
        raise AssertionError("a gateway that lost its claim must not queue replies")
    except LeaseLost:
        pass
    assert first.backlog() == 0
    second.complete_inbox(a1, [("telegram-a", "telegram", b"reply")], [], now=52.0, owner="two")
    second.complete_inbox(b1, [], [], now=52.0, owner="two")
    (row,) = first.claim_inbox("one", now=53.0, until=68.0, limit=8)
    assert row.id == a2, "the conversation's next message, once the first is done"
    (reply,) = second.claim_outbox("two", now=53.0, until=68.0, limit=8)
    assert first.claim_outbox("one", now=54.0, until=69.0, limit=8) == []
    assert second.release_all("two") == 1 and first.release_all("one") == 1
    assert first.claim_outbox("one", now=54.0, until=69.0, limit=8) == [reply]
    for store in (first, second):
        store.close()


def test_retries_and_failures_give_up_the_claim(tmp_path: Path) -> None:
    store = GatewayStore(tmp_path / "g.sqlite3")
    row_id = store.accept("k1", "telegram-a", "telegram", b"x", now=10.0, expires=1000.0)
    store.claim_inbox("one", now=10.0, until=25.0, limit=1)
    store.retry_inbox(row_id, next_attempt=12.0, owner="one")
    (row,) = store.claim_inbox("two", now=12.0, until=27.0, limit=1)
    assert row.attempts == 1
    assert store.fail_inbox(row_id, "SealError", now=13.0, next_attempt=14.0, park_after=5, owner="one") is False, \
        "only the holder counts a failure"
    assert store.fail_inbox(row_id, "SealError", now=13.0, next_attempt=14.0, park_after=5, owner="two") is False
    (row,) = store.claim_inbox("one", now=14.0, until=29.0, limit=1)
    assert row.failures == 1
    store.release("inbox", row_id, "one")
    assert store.claim_inbox("two", now=14.0, until=29.0, limit=1) == [row]
    store.close()


@dataclass(frozen=True)
class Row:
    id: int
    channel: str


def due(*channels: str) -> list[Row]:
    return [Row(n, channel) for n, channel in enumerate(channels)]


def test_fair_share_takes_channels_in_turn_and_caps_one_channel_while_others_wait() -> None:
    rows = due("webchat", "webchat", "webchat", "whatsapp", "webchat", "telegram")
    take = fair_share(rows, limit=4, held={}, cap=2)
    assert [r.id for r in take] == [0, 3, 5, 1], "a round across channels, the oldest channel first"
    assert fair_share(rows, limit=8, held={}, cap=2) == [rows[0], rows[3], rows[5], rows[1]]
    assert [r.id for r in fair_share(due(*["webchat"] * 10), limit=8, held={}, cap=4)] == list(range(8)), \
        "alone, a channel may use every worker"
    flood = due(*["webchat"] * 10, "whatsapp")
    assert [r.id for r in fair_share(flood, limit=1, held={"webchat": 7}, cap=4)] == [10], \
        "the web chat holds every busy worker: the next free one goes to WhatsApp"
    assert fair_share(due(*["webchat"] * 10), limit=3, held={"whatsapp": 1, "webchat": 4}, cap=4) == [], \
        "the web chat stays at its cap while another channel works"


# files at rest (report 5.5 and 5.4)


def test_the_database_is_readable_by_its_owner_only_and_deletes_for_good(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        path = tmp_path / "gateway.sqlite3"
        store = GatewayStore(path)
        store.accept("k1", "telegram-a", "telegram", b"x", now=10.0, expires=1000.0)
        files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
        assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in files} == {p.name: 0o600 for p in files}
        assert store._query("PRAGMA secure_delete") == [(1,)]
        store.close()

        loose = tmp_path / "made-by-an-older-gateway.sqlite3"
        sqlite3.connect(loose).close()
        loose.chmod(0o644)
        GatewayStore(loose).close()
        assert stat.S_IMODE(loose.stat().st_mode) == 0o600
    finally:
        os.umask(old)
