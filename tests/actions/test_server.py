"""The action server's composition: one instance of each action, built with the services once,
and feedback retention."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from actions import actions, server
from actions.feedback_store import FeedbackStore
from actions.services import Services
from knowledge.errors import KnowledgeError


def test_every_action_is_registered_once_with_the_services(svc: Services) -> None:
    executor = server.build_executor(svc)
    assert set(executor.actions) == {cls.__new__(cls).name() for cls in actions.ACTIONS}
    for run in executor.actions.values():
        assert run.__self__.services is svc  # type: ignore[attr-defined]


def test_the_routes_are_rasa_sdks(svc: Services) -> None:
    app = server.create_app(server.build_executor(svc))
    paths = {route.path.strip("/") for route in app.router.routes}
    assert {"health", "webhook", "actions"} <= paths


def _old_vote(store: FeedbackStore, sender: str, age_days: float) -> None:
    with store._connect() as db:
        db.execute("INSERT INTO feedback (sender, created_at, helpful, lang, citations) VALUES (?,?,?,?,?)",
                   (sender, int(time.time() - age_days * 86400), 1, "en", "icrmw:art21"))


def test_feedback_older_than_retention_is_purged_at_start(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    _old_vote(store, "old", 31)
    _old_vote(store, "recent", 2)
    services: Any = type("S", (), {"feedback": store})()
    stop = threading.Event()
    worker = threading.Thread(target=server.purge_feedback, args=(services, 30.0, stop))
    worker.start()
    deadline = time.monotonic() + 10
    while store.counts().get("helpful") != 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    worker.join(timeout=5)
    assert not worker.is_alive()
    with store._connect() as db:
        assert [r[0] for r in db.execute("SELECT sender FROM feedback")] == ["recent"]


def test_a_failing_purge_is_retried_not_fatal(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        calls = 0

        def purge_older_than(self, seconds: int) -> int:
            self.calls += 1
            raise OSError("database is locked")

    services: Any = type("S", (), {"feedback": Broken()})()
    stop = threading.Event()
    worker = threading.Thread(target=server.purge_feedback, args=(services, 30.0, stop))
    worker.start()
    time.sleep(0.2)
    stop.set()
    worker.join(timeout=5)
    assert not worker.is_alive() and services.feedback.calls == 1
    assert "feedback retention failed (OSError)" in caplog.text


@pytest.mark.parametrize("value", ["thirty", "0", "-3"])
def test_retention_days_must_be_a_positive_number(value: str) -> None:
    with pytest.raises(KnowledgeError, match="RETENTION_DAYS"):
        server.retention_days({"RETENTION_DAYS": value})
    assert server.retention_days({}) == 30 and server.retention_days({"RETENTION_DAYS": "7.5"}) == 7.5
