"""Helpful / not helpful votes, without the message text: what was cited, in which language."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    sender TEXT NOT NULL,          -- the pseudonymous conversation ID given by the gateway
    created_at INTEGER NOT NULL,
    helpful INTEGER NOT NULL,
    lang TEXT,
    citations TEXT                 -- comma-separated citation IDs of the answer rated
);
CREATE INDEX IF NOT EXISTS feedback_sender ON feedback(sender);
"""


class FeedbackStore:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10)

    def record(self, sender: str, helpful: bool, lang: str | None, citations: list[str]) -> None:
        with self._connect() as db:
            db.execute(
                "INSERT INTO feedback (sender, created_at, helpful, lang, citations) VALUES (?,?,?,?,?)",
                (sender, int(time.time()), int(helpful), lang, ",".join(citations)),
            )

    def forget(self, sender: str) -> int:
        with self._connect() as db:
            return db.execute("DELETE FROM feedback WHERE sender = ?", (sender,)).rowcount

    def purge_older_than(self, seconds: int) -> int:
        with self._connect() as db:
            cutoff = int(time.time()) - seconds
            return db.execute("DELETE FROM feedback WHERE created_at < ?", (cutoff,)).rowcount

    def counts(self) -> dict[str, int]:
        with self._connect() as db:
            rows = db.execute("SELECT helpful, COUNT(*) FROM feedback GROUP BY helpful").fetchall()
        return {("helpful" if h else "not_helpful"): n for h, n in rows}
