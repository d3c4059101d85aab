"""Hotline cases, operators and the audit log: SQLite by default, PostgreSQL in production,
through the same SQLAlchemy Core code (``CASES_DB_URL``).

A case is opened when the assistant hands a conversation to a person (an urgent situation, or
the person asked). It holds what an operator needs and nothing more: the language, the topic,
the urgency category, the cited provisions, a short summary and the transcript. Its text goes
when the case has been closed for the retention period, or at once when the person asks for
their data to be deleted. The audit log records who did what to which case, never message text.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from channels.errors import ChannelError

SESSION_SECONDS = 8 * 3600
SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}

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


@dataclass(frozen=True)
class Case:
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
    return hashlib.sha256(token.encode()).hexdigest()


class CaseStore:
    """Synchronous and short; the gateway runs it on its database thread."""

    def __init__(self, url: str) -> None:
        if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            from pathlib import Path

            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self.engine = sa.create_engine(url, future=True)
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

    def sign_in(self, username: str, password: str, now: float | None = None) -> tuple[str, OperatorSession] | None:
        """A new session token (for the cookie) and its CSRF token, or None for wrong credentials."""
        now = now or time.time()
        with self.engine.begin() as db:
            row = db.execute(sa.select(operators).where(operators.c.username == username)).first()
            if row is None:
                check_password(password, _DUMMY_HASH)
                return None
            if not check_password(password, row.password_hash):
                return None
            token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
            db.execute(sessions.delete().where(sessions.c.expires < now))
            db.execute(sessions.insert().values(token_hash=_token_hash(token), operator_id=row.id, csrf=csrf,
                                                expires=now + SESSION_SECONDS))
            self._audit(db, username, "sign_in", None, "", now)
            return token, OperatorSession(row.id, row.username, csrf)

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
            if existing is not None:
                values: dict[str, Any] = {"updated": now, "summary": summary[:2000]}
                if urgency > existing.urgency:
                    values.update(urgency=urgency, category=category)
                db.execute(cases.update().where(cases.c.id == existing.id).values(**values))
                return int(existing.id)
            result = db.execute(cases.insert().values(
                conversation=conversation, channel=channel, language=language, category=category,
                urgency=urgency, topic=topic, citations=json.dumps(citations), summary=summary[:2000],
                status="open", created=now, updated=now))
            case_id = int(result.inserted_primary_key[0])
            for author, text, at in transcript:
                db.execute(case_messages.insert().values(case_id=case_id, author=author, text=text, created=at))
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
        return _case(row)

    def queue(self) -> list[Case]:
        """Open and claimed cases, most urgent first, then oldest first."""
        with self.engine.connect() as db:
            rows = db.execute(sa.select(cases).where(cases.c.status != "closed")
                              .order_by(cases.c.urgency.desc(), cases.c.created)).all()
        return [_case(row) for row in rows]

    def messages(self, case_id: int) -> list[CaseMessage]:
        with self.engine.connect() as db:
            rows = db.execute(sa.select(case_messages).where(case_messages.c.case_id == case_id)
                              .order_by(case_messages.c.id)).all()
        return [CaseMessage(row.id, row.author, row.text, row.created) for row in rows]

    def append(self, case_id: int, author: str, text: str, now: float | None = None) -> None:
        now = now or time.time()
        with self.engine.begin() as db:
            db.execute(case_messages.insert().values(case_id=case_id, author=author, text=text, created=now))
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

    def purge(self, cutoff: float) -> dict[str, int]:
        """Closed cases older than ``cutoff`` go with their transcripts; so do old sessions."""
        with self.engine.begin() as db:
            ids = [row.id for row in db.execute(sa.select(cases.c.id).where(cases.c.status == "closed",
                                                                             cases.c.closed < cutoff))]
            if ids:
                db.execute(case_messages.delete().where(case_messages.c.case_id.in_(ids)))
                db.execute(cases.delete().where(cases.c.id.in_(ids)))
            db.execute(sessions.delete().where(sessions.c.expires < time.time()))
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


def _case(row: Any) -> Case:
    return Case(id=row.id, conversation=row.conversation, channel=row.channel, language=row.language,
                category=row.category, urgency=row.urgency, topic=row.topic, citations=json.loads(row.citations),
                summary=row.summary, status=row.status, operator_id=row.operator_id, created=row.created,
                updated=row.updated, closed=row.closed)
