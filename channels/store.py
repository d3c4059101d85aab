"""The gateway's own state in SQLite: deduplication and the inbox, the outbox, contacts, and the
web chat's mailbox.

Nothing here is in clear that could identify a person: conversations are keyed by pseudonym,
message IDs by a keyed hash, and the few things that must be kept to reply (the inbound message
until it is processed, the API call until it is delivered, the address while the conversation
is recent, the web chat's replies until the page has read them) are sealed with the gateway's
key. The file is readable by its owner only and deleted rows are overwritten (secure_delete).
Methods are synchronous and short; the gateway runs them on one worker thread so that the event
loop never blocks on the disk.

Several gateway processes may share the file (a restart that overlaps the old process, a second
instance). A message or reply is worked on only by the process that claimed it: ``claim_inbox``
and ``claim_outbox`` set ``owner`` and ``lease_until`` in one write transaction, the owner renews
the claim while it works and gives it up when it is done or stops; a claim that is not renewed
(its process was killed) lapses after the lease, and another process takes the row then.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import threading
from collections import Counter, deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from channels.errors import ChannelError

SCHEMA = """
PRAGMA journal_mode = WAL;
CREATE TABLE IF NOT EXISTS inbox (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,          -- keyed hash of channel + platform message ID
    conversation TEXT NOT NULL,
    channel TEXT NOT NULL,
    envelope BLOB,                     -- sealed inbound message; NULL once processed
    status TEXT NOT NULL DEFAULT 'pending',  -- pending, done, failed (parked)
    attempts INTEGER NOT NULL DEFAULT 0,     -- tries while Rasa was unavailable
    next_attempt REAL NOT NULL,
    received REAL NOT NULL,
    expires REAL NOT NULL,             -- when the deduplication record may go
    failures INTEGER NOT NULL DEFAULT 0,     -- tries that failed for any other reason
    last_error TEXT NOT NULL DEFAULT '',     -- the exception class of the last failure, never text
    parked REAL,                       -- when it was set aside as failed
    owner TEXT,                        -- the gateway process working on it, if any
    lease_until REAL                   -- ... until then, unless it renews its claim
);
CREATE INDEX IF NOT EXISTS inbox_pending ON inbox (status, conversation, id);
CREATE INDEX IF NOT EXISTS inbox_expires ON inbox (expires);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY,
    conversation TEXT NOT NULL,
    channel TEXT NOT NULL,
    call BLOB NOT NULL,                -- sealed API call (it names the recipient)
    attempts INTEGER NOT NULL DEFAULT 0,     -- platform answers worth retrying (5xx, 429, transport)
    next_attempt REAL NOT NULL,
    created REAL NOT NULL,
    last_error TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'pending',  -- pending, failed (parked); delivered rows are deleted
    failures INTEGER NOT NULL DEFAULT 0,     -- tries that failed inside the gateway
    parked REAL,
    owner TEXT,                        -- as in the inbox
    lease_until REAL
);
CREATE INDEX IF NOT EXISTS outbox_conversation ON outbox (conversation, id);
CREATE TABLE IF NOT EXISTS contacts (
    conversation TEXT PRIMARY KEY,
    channel TEXT NOT NULL,
    envelope BLOB NOT NULL,            -- sealed platform address and routing data
    last_seen REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS mailbox (
    id INTEGER PRIMARY KEY,
    conversation TEXT NOT NULL,
    message BLOB NOT NULL,             -- a bot or operator reply for the web chat, sealed
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS mailbox_conversation ON mailbox (conversation, id);
CREATE TABLE IF NOT EXISTS options (
    conversation TEXT PRIMARY KEY,
    payloads TEXT NOT NULL,            -- JSON list: what "1", "2", ... mean on a numbered channel
    created REAL NOT NULL
);
"""
# Columns added after the first release: a database made by an older gateway gets them on start
# (SQLite's CREATE TABLE IF NOT EXISTS leaves an existing table as it is).
ADDED_COLUMNS = {
    "inbox": (("failures", "INTEGER NOT NULL DEFAULT 0"), ("last_error", "TEXT NOT NULL DEFAULT ''"),
              ("parked", "REAL"), ("owner", "TEXT"), ("lease_until", "REAL")),
    "outbox": (("status", "TEXT NOT NULL DEFAULT 'pending'"), ("failures", "INTEGER NOT NULL DEFAULT 0"),
               ("parked", "REAL"), ("owner", "TEXT"), ("lease_until", "REAL")),
}
# Indexes on added columns: made once the columns exist.
LATE_INDEXES = "CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (status, conversation, id);"

TABLES = ("inbox", "outbox", "contacts", "mailbox", "options")
QUEUES = ("inbox", "outbox")
# What a claim reads of a queue: the oldest pending row of every conversation, and who holds it.
HEADS = ("SELECT {columns}, next_attempt, owner, lease_until FROM {table} WHERE id IN"
         " (SELECT MIN(id) FROM {table} WHERE status = 'pending' GROUP BY conversation) ORDER BY id")


class LeaseLost(ChannelError):
    """This gateway's claim on a row lapsed (it did not renew it in time) and the row was taken
    or finished by another: what this gateway did with it is not recorded, so nothing is sent twice."""


class Queued(Protocol):
    @property
    def channel(self) -> str: ...


Q = TypeVar("Q", bound=Queued)


def fair_share(due: Sequence[Q], limit: int, held: Mapping[str, int], cap: int | None) -> list[Q]:
    """Up to ``limit`` of ``due`` (oldest first), taken in rounds across channels: each round takes
    the oldest waiting row of every channel, the channel whose row has waited longest first.

    ``held`` is how many workers each channel holds already. While another channel has work (a
    due row, or a worker), a channel holds at most ``cap`` workers: a flood on one channel (the
    web chat needs no credential) leaves the others a worker within one round. Alone, a channel
    may use them all."""
    queues: dict[str, deque[Q]] = {}
    for row in due:
        queues.setdefault(row.channel, deque()).append(row)
    holding = Counter(held)
    taken: list[Q] = []
    while queues and len(taken) < limit:
        for channel in list(queues):
            if len(taken) == limit:
                break
            others = len(queues) > 1 or any(n for name, n in holding.items() if name != channel)
            if cap is not None and others and holding[channel] >= cap:
                del queues[channel]
                continue
            taken.append(queues[channel].popleft())
            holding[channel] += 1
            if not queues[channel]:
                del queues[channel]
    return taken


@dataclass(frozen=True)
class InboxRow:
    id: int
    conversation: str
    channel: str
    envelope: bytes
    attempts: int
    received: float
    failures: int = 0


@dataclass(frozen=True)
class OutboxRow:
    id: int
    conversation: str
    channel: str
    call: bytes
    attempts: int
    created: float
    failures: int = 0


@dataclass(frozen=True)
class _Head:
    """A queue row as fair_share sees it: its channel is the third column (after id, conversation)."""

    row: tuple[Any, ...]

    @property
    def channel(self) -> str:
        return str(self.row[2])


@dataclass(frozen=True)
class QueueStats:
    """What operations look at: how much waits, since when, and how much was set aside."""

    inbox_pending: int
    outbox_pending: int
    oldest_inbox: float | None  # when the oldest pending message was received
    oldest_outbox: float | None  # when the oldest pending reply was queued
    parked_inbox: int
    parked_outbox: int


@dataclass(frozen=True)
class ParkedRow:
    """A message or reply set aside after repeated failures: where and why, never what it said."""

    queue: str  # inbox or outbox
    id: int
    channel: str
    since: float  # received (inbox) or queued (outbox)
    parked: float
    failures: int
    reason: str


def private_file(path: Path) -> None:
    """Create ``path`` readable and writable by its owner only, or take group and other rights
    away from a file an older gateway made under a looser umask (with its -wal and -shm). SQLite
    gives the -wal and -shm files it creates the database file's mode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        if file.exists() and stat.S_IMODE(file.stat().st_mode) & 0o077:
            file.chmod(0o600)


class GatewayStore:
    def __init__(self, path: Path | str) -> None:
        if str(path) != ":memory:":
            private_file(Path(path))
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA secure_delete = ON")  # "delete my data" leaves no bytes behind
            self._db.execute("PRAGMA synchronous = FULL")  # a message answered 200 survives a power loss
            self._db.executescript(SCHEMA)
        self._add_columns()

    def _add_columns(self) -> None:
        """Bring a database made by an older gateway up to this schema (new columns, new indexes)."""
        with self._transaction() as db:
            for table, columns in ADDED_COLUMNS.items():
                present = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
                for name, definition in columns:
                    if name not in present:
                        db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {definition}")
            db.execute(LATE_INDEXES)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _tx(self, statements: Iterable[tuple[str, Sequence[Any]]]) -> list[sqlite3.Cursor]:
        with self._transaction() as db:
            return [db.execute(sql, args) for sql, args in statements]

    def _query(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    # inbox and deduplication

    def accept(self, key: str, conversation: str, channel: str, envelope: bytes,
               now: float, expires: float) -> int | None:
        """Record a new inbound message; None if this message ID was seen before (a redelivery)."""
        (cursor,) = self._tx([(
            "INSERT OR IGNORE INTO inbox (key, conversation, channel, envelope, next_attempt, received,"
            " expires) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (key, conversation, channel, envelope, now, now, expires))])
        return cursor.lastrowid if cursor.rowcount == 1 else None

    def claim_inbox(self, owner: str, now: float, until: float, limit: int,
                    held: Mapping[str, int] | None = None, cap: int | None = None) -> list[InboxRow]:
        """Claim for ``owner`` until ``until`` the oldest pending message of up to ``limit``
        conversations, shared fairly across channels (``fair_share``). A conversation whose oldest
        message someone holds is skipped whole, so its messages go to Rasa one at a time, in order."""
        columns = "id, conversation, channel, envelope, attempts, received, failures"
        rows = self._claim("inbox", columns, owner, now, until, limit, held or {}, cap)
        return [InboxRow(*row) for row in rows]

    def _claim(self, table: str, columns: str, owner: str, now: float, until: float, limit: int,
               held: Mapping[str, int], cap: int | None) -> list[tuple[Any, ...]]:
        assert table in QUEUES
        with self._transaction() as db:  # BEGIN IMMEDIATE: one gateway claims at a time
            heads = db.execute(HEADS.format(columns=columns, table=table)).fetchall()
            width = len(heads[0]) - 3 if heads else 0
            due = [_Head(row[:width]) for row in heads
                   if row[width] <= now and (row[width + 1] is None or row[width + 2] < now)]
            taken = [head.row for head in fair_share(due, limit, held, cap)]
            for row in taken:
                db.execute(f"UPDATE {table} SET owner = ?, lease_until = ? WHERE id = ?",  # noqa: S608
                           (owner, until, row[0]))
            return taken

    def renew(self, owner: str, until: float, inbox: Iterable[int], outbox: Iterable[int]) -> int:
        """Extend ``owner``'s claims on these rows to ``until``; how many it still held."""
        statements = [(f"UPDATE {table} SET lease_until = ? WHERE id = ? AND owner = ?",  # noqa: S608
                       (until, row_id, owner)) for table, ids in (("inbox", inbox), ("outbox", outbox))
                      for row_id in ids]
        return sum(cursor.rowcount for cursor in self._tx(statements)) if statements else 0

    def release(self, queue: str, row_id: int, owner: str) -> None:
        """Give up ``owner``'s claim on one row (another worker may take it at once)."""
        assert queue in QUEUES
        self._tx([(f"UPDATE {queue} SET owner = NULL, lease_until = NULL WHERE id = ? AND owner = ?",  # noqa: S608
                   (row_id, owner))])

    def release_all(self, owner: str) -> int:
        """Give up every claim ``owner`` holds (a gateway that stops); how many there were."""
        cursors = self._tx([(f"UPDATE {table} SET owner = NULL, lease_until = NULL WHERE owner = ?",  # noqa: S608
                             (owner,)) for table in QUEUES])
        return sum(cursor.rowcount for cursor in cursors)

    def complete_inbox(self, row_id: int | None, outbox: Sequence[tuple[str, str, bytes]],
                       mailbox: Sequence[tuple[str, bytes | str]], now: float,
                       options: tuple[str, list[str]] | None = None, owner: str | None = None) -> None:
        """Mark a message processed and queue its replies, in one transaction: nothing is lost
        or sent twice if the gateway stops in between. The message must be held by ``owner``
        (None: by nobody), else LeaseLost and nothing is written; a message deleted meanwhile
        ("delete my data") still gets its replies (the confirmation)."""
        statements: list[tuple[str, Sequence[Any]]] = []
        statements += [("INSERT INTO outbox (conversation, channel, call, next_attempt, created)"
                         " VALUES (?, ?, ?, ?, ?)", (conv, channel, call, now, now))
                       for conv, channel, call in outbox]
        statements += [("INSERT INTO mailbox (conversation, message, created) VALUES (?, ?, ?)",
                        (conv, message, now)) for conv, message in mailbox]
        if options is not None:
            statements.append(("INSERT INTO options (conversation, payloads, created) VALUES (?, ?, ?)"
                               " ON CONFLICT(conversation) DO UPDATE SET payloads = excluded.payloads,"
                               " created = excluded.created", (options[0], json.dumps(options[1]), now)))
        with self._transaction() as db:
            if row_id is not None:
                found = db.execute("SELECT status, owner FROM inbox WHERE id = ?", (row_id,)).fetchone()
                if found is not None and found != ("pending", owner):
                    raise LeaseLost(f"message {row_id} is no longer this gateway's to finish")
                db.execute("UPDATE inbox SET status = 'done', envelope = NULL, owner = NULL, lease_until = NULL"
                           " WHERE id = ?", (row_id,))
            for sql, args in statements:
                db.execute(sql, args)

    def options(self, conversation: str) -> list[str]:
        rows = self._query("SELECT payloads FROM options WHERE conversation = ?", (conversation,))
        return list(json.loads(rows[0][0])) if rows else []

    def retry_inbox(self, row_id: int, next_attempt: float, owner: str | None = None) -> None:
        """Try a message again at ``next_attempt`` (Rasa was unavailable), giving up the claim."""
        self._tx([("UPDATE inbox SET attempts = attempts + 1, next_attempt = ?, owner = NULL, lease_until = NULL"
                   " WHERE id = ? AND owner IS ?", (next_attempt, row_id, owner))])

    def inbox_status(self, row_id: int) -> str | None:
        rows = self._query("SELECT status FROM inbox WHERE id = ?", (row_id,))
        return rows[0][0] if rows else None

    def fail_inbox(self, row_id: int, reason: str, now: float, next_attempt: float, park_after: int,
                   owner: str | None = None) -> bool:
        """Count a failed try at a message held by ``owner`` and give up the claim; after
        ``park_after`` of them, set it aside ('failed') so that the conversation's later messages
        go ahead. True when it was set aside."""
        return self._fail("inbox", row_id, reason, now, next_attempt, park_after, owner)

    def pending(self, channel: str, conversation: str | None = None) -> int:
        """Messages of a channel (of one conversation) still waiting for an answer: the web chat's cap."""
        if conversation is None:
            return int(self._query("SELECT COUNT(*) FROM inbox WHERE status = 'pending' AND channel = ?",
                                   (channel,))[0][0])
        return int(self._query("SELECT COUNT(*) FROM inbox WHERE status = 'pending' AND channel = ?"
                               " AND conversation = ?", (channel, conversation))[0][0])

    # outbox

    def claim_outbox(self, owner: str, now: float, until: float, limit: int,
                     held: Mapping[str, int] | None = None, cap: int | None = None) -> list[OutboxRow]:
        """As ``claim_inbox``, for queued API calls: replies keep their order per conversation."""
        columns = "id, conversation, channel, call, attempts, created, failures"
        rows = self._claim("outbox", columns, owner, now, until, limit, held or {}, cap)
        return [OutboxRow(*row) for row in rows]

    def next_outbox_time(self) -> float | None:
        rows = self._query("SELECT MIN(next_attempt) FROM outbox WHERE status = 'pending'")
        return rows[0][0]

    def next_inbox_time(self) -> float | None:
        rows = self._query("SELECT MIN(next_attempt) FROM inbox WHERE status = 'pending'")
        return rows[0][0]

    def delivered(self, row_id: int) -> None:
        self._tx([("DELETE FROM outbox WHERE id = ?", (row_id,))])

    def reschedule(self, row_id: int, next_attempt: float, error: str, owner: str | None = None) -> None:
        """Send a reply again at ``next_attempt`` (the platform asked to retry), giving up the claim."""
        self._tx([("UPDATE outbox SET attempts = attempts + 1, next_attempt = ?, last_error = ?, owner = NULL,"
                   " lease_until = NULL WHERE id = ? AND owner IS ?", (next_attempt, error, row_id, owner))])

    def fail_outbox(self, row_id: int, reason: str, now: float, next_attempt: float, park_after: int,
                    owner: str | None = None) -> bool:
        """As ``fail_inbox``, for a reply the gateway itself could not send (not a platform's refusal)."""
        return self._fail("outbox", row_id, reason, now, next_attempt, park_after, owner)

    def backlog(self) -> int:
        """Replies waiting to be sent (parked ones are not waiting)."""
        return int(self._query("SELECT COUNT(*) FROM outbox WHERE status = 'pending'")[0][0])

    # failures and operations

    def _fail(self, table: str, row_id: int, reason: str, now: float, next_attempt: float,
              park_after: int, owner: str | None) -> bool:
        assert table in QUEUES
        with self._transaction() as db:
            row = db.execute(f"SELECT failures FROM {table} WHERE id = ? AND status = 'pending'"  # noqa: S608
                             " AND owner IS ?", (row_id, owner)).fetchone()
            if row is None:  # done, deleted ("delete my data"), parked or taken over in the meantime
                return False
            park = row[0] + 1 >= park_after
            db.execute(f"UPDATE {table} SET failures = failures + 1, last_error = ?, next_attempt = ?,"  # noqa: S608
                       " status = ?, parked = ?, owner = NULL, lease_until = NULL WHERE id = ?",
                       (reason[:100], next_attempt, "failed" if park else "pending", now if park else None,
                        row_id))
            return park

    def stats(self) -> QueueStats:
        (inbox,) = self._query(
            "SELECT SUM(status = 'pending'), MIN(CASE WHEN status = 'pending' THEN received END),"
            " SUM(status = 'failed') FROM inbox WHERE status IN ('pending', 'failed')")
        (outbox,) = self._query(
            "SELECT SUM(status = 'pending'), MIN(CASE WHEN status = 'pending' THEN created END),"
            " SUM(status = 'failed') FROM outbox")
        return QueueStats(inbox_pending=int(inbox[0] or 0), outbox_pending=int(outbox[0] or 0),
                          oldest_inbox=inbox[1], oldest_outbox=outbox[1],
                          parked_inbox=int(inbox[2] or 0), parked_outbox=int(outbox[2] or 0))

    def parked(self, limit: int = 200) -> list[ParkedRow]:
        """Rows set aside as failed, the latest first."""
        rows = self._query(
            "SELECT 'inbox', id, channel, received, parked, failures, last_error FROM inbox WHERE status = 'failed'"
            " UNION ALL SELECT 'outbox', id, channel, created, parked, failures, last_error FROM outbox"
            " WHERE status = 'failed' ORDER BY 5 DESC LIMIT ?", (limit,))
        return [ParkedRow(*row) for row in rows]

    # contacts (to reach a person again: operator replies, retries after a restart)

    def remember(self, conversation: str, channel: str, envelope: bytes, now: float) -> None:
        self._tx([("INSERT INTO contacts (conversation, channel, envelope, last_seen) VALUES (?, ?, ?, ?)"
                   " ON CONFLICT(conversation) DO UPDATE SET envelope = excluded.envelope,"
                   " last_seen = excluded.last_seen", (conversation, channel, envelope, now))])

    def contact(self, conversation: str) -> tuple[str, bytes] | None:
        rows = self._query("SELECT channel, envelope FROM contacts WHERE conversation = ?", (conversation,))
        return (rows[0][0], rows[0][1]) if rows else None

    # web chat mailbox

    def mailbox_after(self, conversation: str, after: int) -> list[tuple[int, bytes | str]]:
        """A web chat's replies after ``after``, as stored: sealed (bytes), or JSON text in rows an
        older gateway wrote (the gateway opens both: Gateway.mailbox)."""
        rows = self._query("SELECT id, message FROM mailbox WHERE conversation = ? AND id > ? ORDER BY id",
                           (conversation, after))
        return [(row_id, message) for row_id, message in rows]

    # retention and deletion

    def purge(self, now: float, keep_seconds: float) -> dict[str, int]:
        """Drop expired deduplication records, contacts and mailboxes idle for ``keep_seconds``, and
        parked messages and replies older than that (they hold what a person wrote, sealed)."""
        cutoff = now - keep_seconds
        inbox, contacts, mailbox, _, parked_in, parked_out = self._tx([
            ("DELETE FROM inbox WHERE expires < ? AND status = 'done'", (now,)),
            ("DELETE FROM contacts WHERE last_seen < ?", (cutoff,)),
            ("DELETE FROM mailbox WHERE created < ?", (cutoff,)),
            ("DELETE FROM options WHERE created < ?", (cutoff,)),
            ("DELETE FROM inbox WHERE status = 'failed' AND received < ?", (cutoff,)),
            ("DELETE FROM outbox WHERE status = 'failed' AND created < ?", (cutoff,)),
        ])
        return {"inbox": inbox.rowcount, "contacts": contacts.rowcount, "mailbox": mailbox.rowcount,
                "parked": parked_in.rowcount + parked_out.rowcount}

    def forget(self, conversation: str) -> dict[str, int]:
        """Everything the gateway holds about one conversation, for "delete my data"."""
        cursors = self._tx([(f"DELETE FROM {table} WHERE conversation = ?", (conversation,))  # noqa: S608
                            for table in TABLES])
        return dict(zip(TABLES, (c.rowcount for c in cursors), strict=True))
