"""Handoff and deletion through the real gateway: an action's ``handoff`` directive opens a case,
the bot stays silent while an operator holds it, and ``forget`` removes the person everywhere."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator

import pytest

from channels.cases import CaseError, CaseStore, metadata
from tests.channels.conftest import gateway_of, settle
from tests.channels.test_gateway import update
from tests.channels.test_telegram import PATH, env, sign


def handoff_reply(body: dict) -> list[dict]:
    if body["message"] == "they took my passport":
        return [{"text": "Safety steps..."},
                {"custom": {"handoff": {"language": "en", "category": "documents", "urgency": 6, "topic": "documents",
                                        "citations": ["icrmw:art21"], "summary": "Passport taken by employer",
                                        "transcript": [["person", "they took my passport", time.time()]]}}}]
    if body["message"] == "delete my data":
        return [{"text": "Your data is deleted."}, {"custom": {"forget": True}}]
    return [{"text": f"bot: {body['message']}"}]


async def test_handoff_opens_a_case_and_the_bot_waits_while_claimed(started, fake_api, fake_rasa) -> None:
    fake_rasa.reply = handoff_reply
    client = await started(env(fake_api.url))
    gateway = gateway_of(client)
    await client.post(PATH, data=update(1, "they took my passport"), headers=sign(b"", "valid"))
    await settle(client)
    (case,) = await gateway.db(gateway.cases.queue)
    assert (case.category, case.citations, case.status) == ("documents", ["icrmw:art21"], "open")
    assert case.conversation == fake_rasa.received[0]["sender"]
    assert [m.text for m in await gateway.db(gateway.cases.messages, case.id)] == ["they took my passport"]
    assert [r.json()["text"] for r in fake_api.requests] == ["Safety steps..."], "directives are never sent"

    # open but unclaimed: the bot still answers, and the transcript follows
    await client.post(PATH, data=update(2, "are you there?"), headers=sign(b"", "valid"))
    await settle(client)
    assert len(fake_rasa.received) == 2
    # an operator claims it: the person's messages go to the transcript only
    operator_id = await gateway.db(gateway.cases.add_operator, "amal", "correct horse battery")
    _, session = await gateway.db(gateway.cases.sign_in, "amal", "correct horse battery")
    await gateway.db(gateway.cases.claim, case.id, session)
    await client.post(PATH, data=update(3, "please help"), headers=sign(b"", "valid"))
    await settle(client)
    assert len(fake_rasa.received) == 2, "the bot stays silent while a person holds the case"
    await gateway.db(gateway.cases.record_reply, case.id, session, "I am here. Where are you?")
    await gateway.reply_as_operator(case, "I am here. Where are you?")
    await settle(client)
    assert fake_api.requests[-1].json() == {"chat_id": 5512345678, "text": "I am here. Where are you?"}
    texts = [(m.author, m.text) for m in await gateway.db(gateway.cases.messages, case.id)]
    assert texts == [("person", "they took my passport"), ("person", "are you there?"),
                     ("bot", "bot: are you there?"), ("person", "please help"),
                     ("operator", "I am here. Where are you?")]
    # closed: the bot resumes
    await gateway.db(gateway.cases.close_case, case.id, session)
    await client.post(PATH, data=update(4, "thanks"), headers=sign(b"", "valid"))
    await settle(client)
    assert fake_rasa.received[-1]["message"] == "thanks"
    assert operator_id > 0


async def test_delete_my_data_leaves_no_trace(started, fake_api, fake_rasa, tmp_path) -> None:
    tracker = tmp_path / "tracker.sqlite3"
    fake_rasa.reply = handoff_reply
    client = await started({**env(fake_api.url), "TRACKER_DB_URL": f"sqlite:///{tracker}"})
    gateway = gateway_of(client)
    await client.post(PATH, data=update(1, "they took my passport"), headers=sign(b"", "valid"))
    await settle(client)
    conversation = fake_rasa.received[0]["sender"]
    # Rasa's tracker store, as Rasa's SQLTrackerStore lays it out, with this person's and another's events
    with sqlite3.connect(tracker) as db:
        db.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id TEXT, type_name TEXT, timestamp REAL,"
                   " intent_name TEXT, action_name TEXT, data TEXT)")
        db.executemany("INSERT INTO events (sender_id, type_name, timestamp, data) VALUES (?, 'user', ?, ?)",
                       [(conversation, time.time(), '{"text": "they took my passport"}'),
                        ("someone-else", time.time(), '{"text": "hello"}')])
    fake_api.script = [(500, {}, {})] * 50  # a reply stuck in the outbox must go too
    await client.post(PATH, data=update(2, "hello again"), headers=sign(b"", "valid"))
    await settle_inbox(gateway)
    fake_api.script = []
    await client.post(PATH, data=update(3, "delete my data"), headers=sign(b"", "valid"))
    await settle(client, timeout=15)

    assert fake_api.requests[-1].json()["text"] == "Your data is deleted.", "the confirmation still arrives"
    assert await gateway.db(gateway.cases.queue) == []
    store = gateway.store
    for table in ("inbox", "outbox", "contacts", "mailbox", "options"):
        rows = await gateway.db(store._query, f"SELECT COUNT(*) FROM {table} WHERE conversation = ?", (conversation,))
        assert rows[0][0] == 0, table
    with sqlite3.connect(tracker) as db:
        left = db.execute("SELECT sender_id FROM events").fetchall()
    assert left == [("someone-else",)]
    with sqlite3.connect(tmp_path / "cases.sqlite3") as db:
        dump = "\n".join(db.iterdump())
    assert "passport" not in dump.lower()


async def settle_inbox(gateway) -> None:
    import asyncio

    for _ in range(200):
        if await gateway.db(gateway.store.next_inbox_time) is None and not gateway._busy_in:
            return
        await asyncio.sleep(0.02)


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



def test_tracker_retention_and_forget(tmp_path) -> None:
    from channels.tracker import TrackerEvents

    path = tmp_path / "tracker.sqlite3"
    events = TrackerEvents(f"sqlite:///{path}")
    assert events.forget("anyone") == 0 and events.purge(time.time()) == 0, "no table yet: nothing to do"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id TEXT, type_name TEXT, timestamp REAL,"
                   " intent_name TEXT, action_name TEXT, data TEXT)")
        db.executemany("INSERT INTO events (sender_id, timestamp) VALUES (?, ?)",
                       [("a", 100.0), ("a", 5000.0), ("b", 200.0), ("b", 6000.0)])
    assert events.purge(cutoff=1000.0) == 2
    assert (events.count("a"), events.count("b")) == (1, 1)
    assert events.forget("a") == 1 and events.count("a") == 0 and events.count("b") == 1
