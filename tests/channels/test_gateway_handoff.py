"""Handoff and deletion through the real gateway: an action's ``handoff`` directive opens a case,
the bot stays silent while an operator holds it, and ``forget`` removes the person everywhere."""

from __future__ import annotations

import sqlite3
import time

from tests.channels.conftest import gateway_of, settle
from tests.channels.platforms.test_telegram import PATH, env, sign
from tests.channels.test_gateway import update


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


