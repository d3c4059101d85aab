"""Deleting from Rasa's SQL tracker store (its ``events`` table, as SQLTrackerStore lays it out)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from channels.tracker import TrackerEvents

EVENTS = ("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id TEXT, type_name TEXT, timestamp REAL,"
          " intent_name TEXT, action_name TEXT, data TEXT)")


def count(path: Path, sender_id: str) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("SELECT COUNT(*) FROM events WHERE sender_id = ?", (sender_id,)).fetchone()[0])


def test_tracker_retention_and_forget(tmp_path: Path) -> None:
    path = tmp_path / "tracker.sqlite3"
    events = TrackerEvents(f"sqlite:///{path}")
    assert events.forget("anyone") == 0 and events.purge(time.time()) == 0, "no table yet: nothing to do"
    with sqlite3.connect(path) as db:
        db.execute(EVENTS)
        db.executemany("INSERT INTO events (sender_id, timestamp) VALUES (?, ?)",
                       [("a", 100.0), ("a", 5000.0), ("b", 200.0), ("b", 6000.0)])
    assert events.purge(cutoff=1000.0) == 2
    assert (count(path, "a"), count(path, "b")) == (1, 1)
    assert events.forget("a") == 1 and count(path, "a") == 0 and count(path, "b") == 1
    events.close()
