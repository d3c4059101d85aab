"""Hotline cases, operators and the audit log: SQLite by default, PostgreSQL in production,
through the same SQLAlchemy Core code (``CASES_DB_URL``).

A case is opened when the assistant hands a conversation to a person (an urgent situation, or
the person asked). It holds what an operator needs and nothing more: the language, the topic,
the urgency category, the cited provisions, a short summary and the transcript. Its text goes
when the case has been closed for the retention period, or at once when the person asks for
their data to be deleted. The audit log records who did what to which case, never message text.

What a person said is kept sealed: the transcript's lines and the summary are encrypted with the
gateway's key (channels.keys, as addresses are) and opened only for the operator who views the
case, so a copy of the database shows none of it. A store opened without the key (``rights
operator add`` has no GATEWAY_SECRET) manages operators only. Rows that an older version wrote in
clear still read as they are. A SQLite file is made readable by its owner only, and deleted rows
are overwritten (``secure_delete``).

Sign-in attempts are counted here too, per account and per client address (as keyed hashes, never
the name or address typed), so that a restart or a second gateway does not forget them; the
console (channels/console/routes.py) checks the password itself, off the database thread.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from channels.errors import ChannelError, SealError
from channels.keys import Keys

SESSION_SECONDS = 8 * 3600
SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}
# Every Fernet token starts so (version byte 0x80, then the time); a text that does not was written
# in clear by an older version.
SEALED = "gAAAAA"
UNREADABLE = "[sealed under another GATEWAY_SECRET: cannot be shown]"
MAX_LOCKOUT = 3600.0  # the longest a sign-in lockout lasts, however many failures
FORGET_FAILURES = 86400.0  # a day without a failure and the count starts again

metadata = sa.MetaData()
operators = sa.Table(
    "operators", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(200), nullable=False),
    sa.Column("created", sa.Float, nullable=False),
)
sessions = sa.Table(
    "operator_sessions", metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("operator_id", sa.Integer, sa.ForeignKey("operators.id"), nullable=False),
    sa.Column("csrf", sa.String(64), nullable=False),
    sa.Column("expires", sa.Float, nullable=False),
)
cases = sa.Table(
    "cases", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("conversation", sa.String(80), nullable=False, index=True),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("category", sa.String(32), nullable=False),
    sa.Column("urgency", sa.Integer, nullable=False),  # as the action ranked it: higher is seen first
    sa.Column("topic", sa.String(64), nullable=False),
    sa.Column("citations", sa.Text, nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # open, claimed, closed
    sa.Column("operator_id", sa.Integer, sa.ForeignKey("operators.id")),
    sa.Column("created", sa.Float, nullable=False),
    sa.Column("updated", sa.Float, nullable=False),
    sa.Column("closed", sa.Float),
)
case_messages = sa.Table(
    "case_messages", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id"), nullable=False, index=True),
    sa.Column("author", sa.String(16), nullable=False),  # person, bot, operator, note
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("created", sa.Float, nullable=False),
)
# Failed sign-ins per key: "console-account-<keyed hash>" or "console-address-<keyed hash>".
throttle = sa.Table(
    "sign_in_throttle", metadata,
    sa.Column("key", sa.String(80), primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("locked_until", sa.Float, nullable=False),  # 0: not locked
    sa.Column("updated", sa.Float, nullable=False),  # when the last failure (or attempt) was counted
)
audit = sa.Table(
    "audit_log", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("operator", sa.String(64), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("case_id", sa.Integer),
    sa.Column("detail", sa.String(200), nullable=False, default=""),
)


class CaseError(ChannelError):
    """A case action that cannot be done (unknown case, already closed, claimed by someone else)."""


class SignInLocked(CaseError):
    """Too many failed sign-ins for this account or address: nothing is checked until it ends."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"too many failed sign-ins: try again in {retry_after:.0f} s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Case:
    """A case; ``summary`` is opened by ``get`` only (the queue and the gateway's lookups leave it
    sealed and show "" here: they have no use for it)."""

    id: int
    conversation: str
    channel: str
    language: str
    category: str
    urgency: int
    topic: str
    citations: list[str]
    summary: str
    status: str
    operator_id: int | None
    created: float
    updated: float
    closed: float | None


@dataclass(frozen=True)
class CaseMessage:
    id: int
    author: str
    text: str
    created: float


@dataclass(frozen=True)
class OperatorSession:
    operator_id: int
    username: str
    csrf: str


@dataclass(frozen=True)
class SignInLimits:
    """``free_failures`` failed sign-ins in a row cost nothing; each one after that locks the account
    (or the address) for ``lockout_seconds``, doubled with every further failure, at most MAX_LOCKOUT.
    A lockout of 0 seconds turns throttling off."""

    free_failures: int = 5
    lockout_seconds: float = 30.0

    def lockout(self, failures: int) -> float:
        """Seconds locked after the ``failures``-th failure in a row (0 while it is free)."""
        beyond = failures - self.free_failures
        if beyond <= 0 or self.lockout_seconds <= 0:
            return 0.0
        return min(self.lockout_seconds * 2.0 ** min(beyond - 1, 32), MAX_LOCKOUT)


@dataclass(frozen=True)
class SignInAttempt:
    """What ``begin_sign_in`` found and counted: a lockout to wait out (``retry_after`` > 0), or the
    hash to check the password against (a dummy one for an unknown username)."""

    username: str
    operator_id: int | None
    password_hash: str
    retry_after: float = 0.0
    # throttle key -> until when it is locked (the keys that refused this attempt)
    locked: dict[str, float] = field(default_factory=dict)
    # throttle key -> (failures counted with this attempt, the lockout it set, the one it replaced)
    counted: dict[str, tuple[int, float, float]] = field(default_factory=dict)


def hash_password(password: str, salt: bytes | None = None) -> str:
    """scrypt (memory-hard, in the standard library) with a random salt per password."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, **SCRYPT)
    return f"scrypt${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, salt_hex, digest_hex = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    digest = hashlib.scrypt(password.encode("utf-8"), salt=bytes.fromhex(salt_hex), **SCRYPT)
    return hmac.compare_digest(digest.hex(), digest_hex)


# a fixed hash to check against when the username is unknown, so timing does not reveal it
_DUMMY_HASH = hash_password("not-a-password", salt=b"\x00" * 16)


def _token_hash(token: str) -> str:
    # a cookie may carry any bytes (aiohttp hands them on as surrogates): never an error here
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def _private_sqlite_file(url: str) -> None:
    """Create a SQLite database file readable by its owner only, before SQLite does (its -wal,
    -shm and -journal files take the database's mode); one an older version left readable by
    others is made private."""
    parsed = sa.engine.make_url(url)
    name = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or name in ("", ":memory:") or name.startswith("file:"):
        return
    path = Path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    for made in (path, *(path.with_name(path.name + tail) for tail in ("-wal", "-shm", "-journal"))):
        if made.exists() and os.stat(made).st_mode & 0o077:
            os.chmod(made, 0o600)


def _overwrite_deleted_rows(connection: Any, _record: Any) -> None:
    """SQLite: deleted text is overwritten on disk ("delete my data" leaves nothing behind)."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA secure_delete = ON")
    cursor.close()


class CaseStore:
    """Synchronous and short; the gateway runs it on its database thread.

    ``keys`` (the gateway's) seal and open what people said, and key the sign-in counters; without
    them the store manages operators and nothing else."""

    def __init__(self, url: str, keys: Keys | None = None) -> None:
        _private_sqlite_file(url)
        self.engine = sa.create_engine(url, future=True)
        if self.engine.dialect.name == "sqlite":
            sa.event.listen(self.engine, "connect", _overwrite_deleted_rows)
        self._keys = keys
        metadata.create_all(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    # operators and sessions

    def add_operator(self, username: str, password: str, now: float | None = None) -> int:
        if not username or len(username) > 64:
            raise CaseError("a username is 1-64 characters")
        if len(password) < 12:
            raise CaseError("use a password of at least 12 characters")
        with self.engine.begin() as db:
            if db.execute(sa.select(operators.c.id).where(operators.c.username == username)).first():
                raise CaseError(f"operator {username!r} exists already")
            result = db.execute(operators.insert().values(
                username=username, password_hash=hash_password(password), created=now or time.time()))
            return int(result.inserted_primary_key[0])

    def operator_names(self) -> dict[int, str]:
        """Operator IDs to usernames, to show who has claimed a case."""
        with self.engine.connect() as db:
            rows = db.execute(sa.select(operators.c.id, operators.c.username)).all()
        return {int(row.id): str(row.username) for row in rows}

    def sign_in(self, username: str, password: str, now: float | None = None, address: str = "",
                limits: SignInLimits | None = None) -> tuple[str, OperatorSession] | None:
        """A new session token (for the cookie) and its CSRF token, or None for wrong credentials;
        SignInLocked during a lockout. All in one call, the password check included: the console
        splits it (``begin_sign_in``, the check off the database thread, ``finish_sign_in``)."""
        now = now or time.time()
        attempt = self.begin_sign_in(username, address, limits or SignInLimits(), now)
        if attempt.retry_after > 0:
            raise SignInLocked(attempt.retry_after)
        return self.finish_sign_in(attempt, check_password(password, attempt.password_hash), now)

    def begin_sign_in(self, username: str, address: str, limits: SignInLimits, now: float) -> SignInAttempt:
        """Count a sign-in attempt against the account and the client's address, and find the hash
        to check its password against; or, during a lockout of either, count nothing and say how
        long it lasts.

        The attempt counts as a failure until ``finish_sign_in`` hears otherwise, so that attempts
        made at the same time cannot all slip in under the limit. An unknown username is counted
        and checked (against a dummy hash) like a known one: the answers do not tell them apart."""
        try:
            return self._begin_sign_in(username, address, limits, now)
        except sa.exc.IntegrityError:  # another gateway added the same counter first: it is there now
            return self._begin_sign_in(username, address, limits, now)

    def _begin_sign_in(self, username: str, address: str, limits: SignInLimits, now: float) -> SignInAttempt:
        keys = sorted(self.throttle_keys(username, address))
        with self.engine.connect() as db:  # a lockout is found without writing anything
            refused = self._locked(db.execute(sa.select(throttle).where(throttle.c.key.in_(keys))).all(), now)
        if refused is not None:
            return refused
        with self.engine.begin() as db:
            rows = {key: self._held(db, key, now) for key in keys}
            refused = self._locked(list(rows.values()), now)  # locked since the look above
            if refused is not None:
                return refused
            counted = {}
            for key, row in rows.items():
                failures = (0 if now - row.updated > FORGET_FAILURES else row.failures) + 1
                wait = limits.lockout(failures)
                locked = now + wait if wait else 0.0
                db.execute(throttle.update().where(throttle.c.key == key).values(
                    failures=failures, locked_until=locked, updated=now))
                counted[key] = (failures, locked, row.locked_until)
            found = db.execute(sa.select(operators.c.id, operators.c.password_hash)
                               .where(operators.c.username == username)).first()
        if found is None:
            return SignInAttempt(username, None, _DUMMY_HASH, counted=counted)
        return SignInAttempt(username, int(found.id), str(found.password_hash), counted=counted)

    def finish_sign_in(self, attempt: SignInAttempt, password_ok: bool,
                       now: float) -> tuple[str, OperatorSession] | None:
        """After the password check: a session for the right password (the account's count starts
        again, and the attempt no longer counts against the address), or None, with any lockout
        this failure started written to the audit log."""
        if attempt.retry_after > 0 or not attempt.counted:
            raise CaseError("this sign-in attempt was not counted: call begin_sign_in first")
        (account,) = self.throttle_keys(attempt.username, "")
        with self.engine.begin() as db:
            if not password_ok or attempt.operator_id is None:
                locks = [self._lockout_text(key, attempt, failures, locked - now)
                         for key, (failures, locked, _) in sorted(attempt.counted.items()) if locked > now]
                if locks:
                    self._audit(db, "system", "sign_in_locked", None, "; ".join(locks)[:200], now)
                return None
            db.execute(throttle.delete().where(throttle.c.key == account))
            for key, (_, locked, before) in attempt.counted.items():
                if key == account:
                    continue
                db.execute(throttle.update().where(throttle.c.key == key, throttle.c.failures > 0)
                           .values(failures=throttle.c.failures - 1))
                # the lockout this attempt set, unless a later attempt has set another since
                db.execute(throttle.update().where(throttle.c.key == key, throttle.c.locked_until == locked)
                           .values(locked_until=before))
            token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
            db.execute(sessions.delete().where(sessions.c.expires < now))
            db.execute(sessions.insert().values(token_hash=_token_hash(token), operator_id=attempt.operator_id,
                                                csrf=csrf, expires=now + SESSION_SECONDS))
            self._audit(db, attempt.username, "sign_in", None, "", now)
            return token, OperatorSession(attempt.operator_id, attempt.username, csrf)

    def throttle_keys(self, username: str, address: str) -> list[str]:
        """The counters an attempt counts against: the account's, and the address's ("": none).
        Keyed hashes: a typed name may be a password typed into the wrong field, and an address is
        personal data; neither can be recovered from them without GATEWAY_SECRET. (No database
        call: the console also uses them to remember lockouts it has seen.)"""
        keys = self._need_keys("count sign-ins")
        found = [keys.pseudonym("console-account", username)]
        return [*found, keys.pseudonym("console-address", address)] if address else found

    @staticmethod
    def _locked(rows: list[Any], now: float) -> SignInAttempt | None:
        """A refused attempt if any of these throttle rows is locked at ``now``."""
        locked = {str(row.key): float(row.locked_until) for row in rows if row.locked_until > now}
        if not locked:
            return None
        return SignInAttempt("", None, "", retry_after=max(locked.values()) - now, locked=locked)

    @staticmethod
    def _held(db: sa.engine.Connection, key: str, now: float) -> Any:
        """A throttle row, created if need be, written to first so that this transaction holds it
        (SQLite's write lock, PostgreSQL's row lock) until it commits: two gateways cannot both
        read the same count and both let an attempt through."""
        touched = db.execute(throttle.update().where(throttle.c.key == key).values(updated=throttle.c.updated))
        if touched.rowcount == 0:
            db.execute(throttle.insert().values(key=key, failures=0, locked_until=0.0, updated=now))
        return db.execute(sa.select(throttle).where(throttle.c.key == key)).one()

    @staticmethod
    def _lockout_text(key: str, attempt: SignInAttempt, failures: int, seconds: float) -> str:
        """The audit log's line for a lockout: the operator's name, or a short keyed hash for a name
        nobody has (it may be a password) and for the address; never the address itself."""
        scope, digest = key.removeprefix("console-").split("-", 1)
        if scope == "account":
            who = f"account {attempt.username}" if attempt.operator_id is not None else f"unknown account {digest[:8]}"
        else:
            who = f"address {digest[:8]}"
        return f"{who}: locked for {seconds:.0f} s after {failures} failures"

    def session(self, token: str, now: float | None = None) -> OperatorSession | None:
        now = now or time.time()
        with self.engine.begin() as db:
            row = db.execute(
                sa.select(sessions.c.operator_id, sessions.c.csrf, sessions.c.expires, operators.c.username)
                .join(operators, operators.c.id == sessions.c.operator_id)
                .where(sessions.c.token_hash == _token_hash(token))).first()
        if row is None or row.expires < now:
            return None
        return OperatorSession(row.operator_id, row.username, row.csrf)

    def sign_out(self, token: str, username: str) -> None:
        with self.engine.begin() as db:
            db.execute(sessions.delete().where(sessions.c.token_hash == _token_hash(token)))
            self._audit(db, username, "sign_out", None, "", time.time())

    # sealing what people said

    def _need_keys(self, purpose: str) -> Keys:
        if self._keys is None:
            raise CaseError(f"this case store was opened without the gateway's key, so it cannot {purpose}: "
                            "set GATEWAY_SECRET")
        return self._keys

    def _seal(self, text: str) -> str:
        return self._need_keys("keep case text").seal({"text": text}).decode("ascii")

    def _open(self, stored: str) -> str:
        """A sealed text opened; a text an older version wrote in clear, as it is."""
        if not _looks_sealed(stored):
            return stored
        if self._keys is None:
            return UNREADABLE
        try:
            return str(self._keys.open(stored.encode("ascii"))["text"])
        except SealError:
            return UNREADABLE

    # cases

    def open_case(self, conversation: str, channel: str, language: str, category: str, urgency: int, topic: str,
                  citations: list[str], summary: str, transcript: list[tuple[str, str, float]],
                  now: float | None = None) -> int:
        """Open a case for a conversation, or raise the urgency of the one already open.

        ``urgency`` orders the queue (higher first); the action server ranks its categories, so
        the gateway needs no list of them. ``category`` is "" when the person asked for someone."""
        now = now or time.time()
        category = category or "request"
        with self.engine.begin() as db:
            existing = db.execute(sa.select(cases.c.id, cases.c.urgency).where(
                cases.c.conversation == conversation, cases.c.status != "closed")).first()
            sealed = self._seal(summary[:2000])
            if existing is not None:
                values: dict[str, Any] = {"updated": now, "summary": sealed}
                if urgency > existing.urgency:
                    values.update(urgency=urgency, category=category)
                db.execute(cases.update().where(cases.c.id == existing.id).values(**values))
                return int(existing.id)
            result = db.execute(cases.insert().values(
                conversation=conversation, channel=channel, language=language, category=category,
                urgency=urgency, topic=topic, citations=json.dumps(citations), summary=sealed,
                status="open", created=now, updated=now))
            case_id = int(result.inserted_primary_key[0])
            for author, text, at in transcript:
                db.execute(case_messages.insert().values(case_id=case_id, author=author, text=self._seal(text),
                                                         created=at))
            return case_id

    def active_case(self, conversation: str) -> Case | None:
        with self.engine.connect() as db:
            row = db.execute(sa.select(cases).where(cases.c.conversation == conversation,
                                                    cases.c.status != "closed")).first()
        return _case(row) if row else None

    def get(self, case_id: int) -> Case:
        with self.engine.connect() as db:
            row = db.execute(sa.select(cases).where(cases.c.id == case_id)).first()
        if row is None:
            raise CaseError(f"no case {case_id}")
        return _case(row, self._open(row.summary))

    def queue(self) -> list[Case]:
        """Open and claimed cases, most urgent first, then oldest first (summaries left sealed)."""
        with self.engine.connect() as db:
            rows = db.execute(sa.select(cases).where(cases.c.status != "closed")
                              .order_by(cases.c.urgency.desc(), cases.c.created)).all()
        return [_case(row) for row in rows]

    def messages(self, case_id: int) -> list[CaseMessage]:
        with self.engine.connect() as db:
            rows = db.execute(sa.select(case_messages).where(case_messages.c.case_id == case_id)
                              .order_by(case_messages.c.id)).all()
        return [CaseMessage(row.id, row.author, self._open(row.text), row.created) for row in rows]

    def append(self, case_id: int, author: str, text: str, now: float | None = None) -> None:
        now = now or time.time()
        sealed = self._seal(text)
        with self.engine.begin() as db:
            db.execute(case_messages.insert().values(case_id=case_id, author=author, text=sealed, created=now))
            db.execute(cases.update().where(cases.c.id == case_id).values(updated=now))

    def claim(self, case_id: int, operator: OperatorSession) -> Case:
        with self.engine.begin() as db:
            row = db.execute(sa.select(cases).where(cases.c.id == case_id)).first()
            if row is None:
                raise CaseError(f"no case {case_id}")
            if row.status == "closed":
                raise CaseError(f"case {case_id} is closed")
            if row.status == "claimed" and row.operator_id != operator.operator_id:
                raise CaseError(f"case {case_id} is claimed by another operator")
            db.execute(cases.update().where(cases.c.id == case_id).values(
                status="claimed", operator_id=operator.operator_id, updated=time.time()))
            self._audit(db, operator.username, "claim", case_id, "", time.time())
        return self.get(case_id)

    def note(self, case_id: int, operator: OperatorSession, text: str) -> None:
        self._require_open(case_id)
        self.append(case_id, "note", text)
        with self.engine.begin() as db:
            self._audit(db, operator.username, "note", case_id, "", time.time())

    def record_reply(self, case_id: int, operator: OperatorSession, text: str) -> Case:
        case = self._require_open(case_id)
        if case.status != "claimed" or case.operator_id != operator.operator_id:
            raise CaseError("claim the case before replying")
        self.append(case_id, "operator", text)
        with self.engine.begin() as db:
            self._audit(db, operator.username, "reply", case_id, "", time.time())
        return case

    def close_case(self, case_id: int, operator: OperatorSession) -> Case:
        self._require_open(case_id)
        now = time.time()
        with self.engine.begin() as db:
            db.execute(cases.update().where(cases.c.id == case_id).values(status="closed", closed=now, updated=now))
            self._audit(db, operator.username, "close", case_id, "", now)
        return self.get(case_id)

    def audit_log(self, limit: int = 200) -> list[dict[str, Any]]:
        with self.engine.connect() as db:
            rows = db.execute(sa.select(audit).order_by(audit.c.id.desc()).limit(limit)).all()
        return [dict(row._mapping) for row in rows]

    # retention and deletion

    def forget(self, conversation: str) -> int:
        """Delete every case of a conversation with its transcript; the audit keeps only IDs."""
        with self.engine.begin() as db:
            ids = [row.id for row in db.execute(sa.select(cases.c.id).where(cases.c.conversation == conversation))]
            if ids:
                db.execute(case_messages.delete().where(case_messages.c.case_id.in_(ids)))
                db.execute(cases.delete().where(cases.c.id.in_(ids)))
                self._audit(db, "system", "delete_on_request", None, f"{len(ids)} case(s)", time.time())
        return len(ids)

    def purge(self, cutoff: float, now: float | None = None) -> dict[str, int]:
        """Closed cases older than ``cutoff`` go with their transcripts; so do old sessions and
        sign-in counters that have had a quiet day."""
        now = now or time.time()
        with self.engine.begin() as db:
            ids = [row.id for row in db.execute(sa.select(cases.c.id).where(cases.c.status == "closed",
                                                                             cases.c.closed < cutoff))]
            if ids:
                db.execute(case_messages.delete().where(case_messages.c.case_id.in_(ids)))
                db.execute(cases.delete().where(cases.c.id.in_(ids)))
            db.execute(sessions.delete().where(sessions.c.expires < now))
            db.execute(throttle.delete().where(throttle.c.updated < now - FORGET_FAILURES,
                                               throttle.c.locked_until < now))
        return {"cases": len(ids)}

    def _require_open(self, case_id: int) -> Case:
        case = self.get(case_id)
        if case.status == "closed":
            raise CaseError(f"case {case_id} is closed")
        return case

    @staticmethod
    def _audit(db: sa.engine.Connection, operator: str, action: str, case_id: int | None, detail: str,
               at: float) -> None:
        db.execute(audit.insert().values(at=at, operator=operator, action=action, case_id=case_id, detail=detail))


def _case(row: Any, summary: str = "") -> Case:
    return Case(id=row.id, conversation=row.conversation, channel=row.channel, language=row.language,
                category=row.category, urgency=row.urgency, topic=row.topic, citations=json.loads(row.citations),
                summary=summary, status=row.status, operator_id=row.operator_id, created=row.created,
                updated=row.updated, closed=row.closed)


def _looks_sealed(stored: str) -> bool:
    """A Fernet token's shape: its start, URL-safe base64, and at least the length of a version,
    a time, an IV, one block and the MAC. A line that an older version wrote in clear has not."""
    return (stored.startswith(SEALED) and len(stored) >= 100
            and all(c.isascii() and (c.isalnum() or c in "-_=") for c in stored))
