"""The web chat under abuse (issue 12; the security report's rows 2.3, 2.8, 3.6, 3.7, 3.8 and finding 9):
odd JSON, sessions the server did not issue, floods from one session, one network or many, all
through the real gateway with the fake Rasa on 127.0.0.1. Limits are set per test; a tiny rate
means the bucket does not refill while the test runs, so the counts are exact."""

from __future__ import annotations

import asyncio
import collections
import json
import sqlite3
from typing import Any

import pytest

from channels import gateway as gateway_module
from channels.keys import Secret
from channels.webchat import routes as routes_module
from channels.webchat.channel import Sessions
from tests.channels.conftest import SECRET, gateway_of, settle

API = "/chat/api/messages"
ISSUE = "/chat/api/session"
JSON = {"Content-Type": "application/json"}
NO_REFILL = "0.000001"  # tokens a second: none come back during a test
ROOMY = {"WEBCHAT_ENABLED": "true", "WEBCHAT_IP_BURST": "10000", "WEBCHAT_SESSION_BURST": "10000",
         "WEBCHAT_SESSION_PENDING": "10000", "WEBCHAT_MAX_PENDING": "10000"}
SESSIONS = Sessions(Secret(SECRET))


def message(session: str, id: str, text: Any = "hello", **extra: Any) -> bytes:
    return json.dumps({"session": session, "id": id, "after": 0, "text": text, **extra}).encode()


async def post(client: Any, data: bytes, **headers: str) -> Any:
    response = await client.post(API, data=data, headers={**JSON, **headers})
    return response


async def poll(client: Any, session: str, **headers: str) -> Any:
    return await client.get(API, params={"after": "0"}, headers={"X-Chat-Session": session, **headers})


def inbox_rows(client: Any) -> int:
    """Rows in the gateway's inbox, read from its database file: what was accepted at all."""
    with sqlite3.connect(gateway_of(client).settings.db_path) as db:
        return int(db.execute("SELECT COUNT(*) FROM inbox").fetchone()[0])


async def statuses(responses: list[Any]) -> collections.Counter[int]:
    for response in responses:
        await response.read()
    return collections.Counter(r.status for r in responses)


async def assert_limited(response: Any) -> None:
    assert response.status == 429
    assert int(response.headers["Retry-After"]) >= 1
    assert "wait" in (await response.json())["error"]


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gateway_module, "backoff", lambda attempts: 0.05)


@pytest.fixture
def short_reply_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    """A POST waits this long for its answer, not 25 s: Rasa is down in these tests, and a message
    behind another of its chat is not even tried before the first is answered."""
    monkeypatch.setattr(routes_module, "REPLY_WAIT", 0.2)


async def test_deep_nesting_and_lone_surrogates_are_refused(started, fake_rasa) -> None:
    client = await started(ROOMY)
    session = SESSIONS.issue()
    bodies = [
        b"[" * 16000,
        b'{"session": "%s", "id": "n1", "after": 0, "text": %s}' % (session.encode(), b"[" * 5000 + b"]" * 5000),
        b'{"session": "%s", "id": "n2", "after": 0, "text": %s}' % (session.encode(), b'{"a":' * 2500 + b"1"
                                                                     + b"}" * 2500),
        b'{"session": "%s", "id": "u1", "after": 0, "text": "hi \\ud800"}' % session.encode(),
        b'{"session": "%s", "id": "u2", "after": 0, "text": "\\udfff"}' % session.encode(),
        b'{"session": "%s", "id": "u3", "after": 0, "payload": "/affirm\\ud83d", "title": "Yes"}' % session.encode(),
        b'{"session": "%s", "id": "u4", "after": 0, "payload": "/affirm", "title": "\\udc00"}' % session.encode(),
    ]
    for data in bodies:
        response = await post(client, data)
        assert response.status == 400, f"{data[:60]!r}: HTTP {response.status}"
        assert (await response.json())["error"]
    # a surrogate pair (an emoji, escaped) is fine
    response = await post(client, message(session, "ok", "\ud83d\ude00"))
    assert response.status == 200
    await settle(client)
    assert inbox_rows(client) == 1 and [m["message"] for m in fake_rasa.received] == ["\U0001F600"]


async def test_the_server_issues_sessions_and_refuses_others(started, fake_rasa) -> None:
    client = await started(ROOMY)
    response = await client.post(ISSUE, data=b"{}", headers=JSON)
    assert response.status == 200 and response.headers["Cache-Control"] == "no-store"
    session = (await response.json())["session"]
    assert SESSIONS.issued(session)
    other = (await (await client.post(ISSUE, data=b"{}", headers=JSON)).json())["session"]
    assert other != session

    # what an old page chose for itself, a forged tag, another gateway's session
    chosen = "a" * 16
    forged = session[:-4] + ("AAAA" if not session.endswith("AAAA") else "BBBB")
    elsewhere = Sessions(Secret("another-gateway-secret-000")).issue()
    for bad in (chosen, forged, elsewhere):
        response = await post(client, message(bad, "m1"))
        assert response.status == 401, bad
        assert "POST /chat/api/session" in (await response.json())["error"]
        assert (await poll(client, bad)).status == 401
    assert inbox_rows(client) == 0 and fake_rasa.received == []

    response = await post(client, message(session, "m1"))
    assert response.status == 200 and [m["text"] for m in (await response.json())["messages"]] == ["reply 1"]
    response = await poll(client, session)
    assert response.status == 200 and len((await response.json())["messages"]) == 1


async def test_sessions_are_issued_only_to_this_site(started, fake_rasa) -> None:
    client = await started(ROOMY)
    response = await client.post(ISSUE, data=b"{}", headers={**JSON, "Origin": "https://evil.example"})
    assert response.status == 403
    response = await client.post(ISSUE, data=b"{}", headers={**JSON, "Sec-Fetch-Site": "cross-site"})
    assert response.status == 403
    assert (await client.get(ISSUE)).status == 405


async def test_the_poll_takes_the_session_from_a_header_not_the_url(started, fake_rasa) -> None:
    client = await started(ROOMY)
    session = SESSIONS.issue()
    assert (await post(client, message(session, "m1"))).status == 200
    response = await client.get(API, params={"session": session, "after": "0"})
    assert response.status == 400 and "X-Chat-Session" in (await response.json())["error"]
    response = await poll(client, session)
    assert response.status == 200 and len((await response.json())["messages"]) == 1


async def test_one_session_sending_300_messages_gets_its_burst(started, fake_rasa) -> None:
    client = await started({**ROOMY, "WEBCHAT_SESSION_BURST": "6", "WEBCHAT_SESSION_RATE": NO_REFILL})
    session = SESSIONS.issue()
    responses = await asyncio.gather(*(post(client, message(session, f"m{i}")) for i in range(300)))
    limited = [r for r in responses if r.status == 429]
    await assert_limited(limited[0])
    assert await statuses(responses) == {200: 6, 429: 294}
    await settle(client)
    assert inbox_rows(client) == 6 and len(fake_rasa.received) == 6
    assert (await post(client, message(SESSIONS.issue(), "m1"))).status == 200, "other sessions go on"


async def test_one_network_gets_its_burst_however_many_sessions_it_uses(started, fake_rasa) -> None:
    client = await started({**ROOMY, "WEBCHAT_IP_BURST": "20", "WEBCHAT_IP_RATE": NO_REFILL})
    responses = await asyncio.gather(*(post(client, message(SESSIONS.issue(), "m1")) for _ in range(300)))
    await assert_limited(next(r for r in responses if r.status == 429))
    assert await statuses(responses) == {200: 20, 429: 280}
    await settle(client)
    assert inbox_rows(client) == 20
    # a bad request costs as much as a good one: junk cannot be sent for free either
    assert (await post(client, b"junk")).status == 429
    # X-Forwarded-For counts only behind a proxy the gateway is told to trust
    response = await post(client, message(SESSIONS.issue(), "m1"), **{"X-Forwarded-For": "198.51.100.7"})
    assert response.status == 429


async def test_behind_a_trusted_proxy_each_client_ip_has_its_own_bucket(started, fake_rasa) -> None:
    client = await started({**ROOMY, "WEBCHAT_IP_BURST": "2", "WEBCHAT_IP_RATE": NO_REFILL,
                            "GATEWAY_TRUST_PROXY": "true"})
    got = []
    for hop in ("198.51.100.7", "198.51.100.7", "198.51.100.7", "203.0.113.5", "2001:db8::1", "2001:db8::2",
                "2001:db8::3"):
        response = await post(client, message(SESSIONS.issue(), "m1"), **{"X-Forwarded-For": f"192.0.2.99, {hop}"})
        got.append(response.status)
    assert got == [200, 200, 429, 200, 200, 200, 429], "IPv6 addresses of one /64 share a bucket"


async def test_new_sessions_are_limited_per_ip(started, fake_rasa) -> None:
    client = await started({**ROOMY, "WEBCHAT_IP_BURST": "20", "WEBCHAT_IP_RATE": NO_REFILL})
    responses = await asyncio.gather(*(client.post(ISSUE, data=b"{}", headers=JSON) for _ in range(300)))
    await assert_limited(next(r for r in responses if r.status == 429))
    assert await statuses(responses) == {200: 20, 429: 280}
    assert (await post(client, message(SESSIONS.issue(), "m1"))).status == 200, "sending has its own bucket"


async def test_polls_have_their_own_more_generous_bucket(started, fake_rasa) -> None:
    client = await started({**ROOMY, "WEBCHAT_IP_BURST": "20", "WEBCHAT_IP_RATE": NO_REFILL})
    session = SESSIONS.issue()
    responses = await asyncio.gather(*(poll(client, session) for _ in range(500)))
    await assert_limited(next(r for r in responses if r.status == 429))
    counts = await statuses(responses)
    assert counts[200] == 200 and counts[429] == 300, "ten times the messages' burst"
    assert (await post(client, message(session, "m1"))).status == 200, "polling did not use up sending"


async def test_unanswered_messages_are_capped_per_session_and_in_all(started, fake_rasa, short_reply_wait) -> None:
    fake_rasa.fail_next = 10**6  # Rasa is down: every accepted message stays pending
    client = await started({**ROOMY, "WEBCHAT_SESSION_PENDING": "3", "WEBCHAT_MAX_PENDING": "5"})
    first, second, third = SESSIONS.issue(), SESSIONS.issue(), SESSIONS.issue()
    got = [(await post(client, message(first, f"m{i}"))).status for i in range(5)]
    assert got == [200, 200, 200, 429, 429]
    response = await post(client, message(first, "m9"))
    await assert_limited(response)
    assert "unanswered" in (await response.json())["error"]
    assert [(await post(client, message(second, f"m{i}"))).status for i in range(3)] == [200, 200, 429]
    assert (await post(client, message(third, "m1"))).status == 429, "five wait in all"
    assert inbox_rows(client) == 5
    gateway = gateway_of(client)
    assert await gateway.db(gateway.store.pending, "webchat") == 5
    assert await gateway.db(gateway.store.pending, "webchat", gateway.keys.pseudonym("webchat", first)) == 3

    fake_rasa.fail_next = 0  # Rasa is back: once answered, they may write again
    await settle(client)
    assert (await post(client, message(third, "m1"))).status == 200
    assert (await post(client, message(first, "m10"))).status == 200


async def test_a_flood_from_many_networks_queues_no_more_than_the_cap(started, fake_rasa, short_reply_wait,
                                                                      monkeypatch) -> None:
    """The report's §3.8 from the web chat's side: 1,000 sessions from 1,000 addresses queued 807
    messages in front of every other channel; now at most WEBCHAT_MAX_PENDING wait."""
    fake_rasa.fail_next = 10**6
    monkeypatch.setattr(gateway_module, "backoff", lambda attempts: 60.0)  # Rasa stays down
    client = await started({"WEBCHAT_ENABLED": "true", "GATEWAY_TRUST_PROXY": "true", "WEBCHAT_MAX_PENDING": "20"})

    async def one(n: int) -> int:
        hop = {"X-Forwarded-For": f"10.0.{n // 256}.{n % 256}"}
        response = await client.post(ISSUE, data=b"{}", headers={**JSON, **hop})
        session = (await response.json())["session"]
        return (await post(client, message(session, "m1"), **hop)).status

    counts = collections.Counter(await asyncio.gather(*(one(n) for n in range(200))))
    assert counts == {200: 20, 429: 180}
    assert inbox_rows(client) == 20


async def test_limited_requests_are_counted_and_logged_without_the_session(started, fake_rasa, caplog) -> None:
    caplog.set_level("INFO")
    client = await started({**ROOMY, "WEBCHAT_SESSION_BURST": "1", "WEBCHAT_SESSION_RATE": NO_REFILL})
    session = SESSIONS.issue()
    await post(client, message(session, "m1"))
    assert (await post(client, message(session, "m2"))).status == 429
    limited = [json.loads(r.getMessage()) for r in caplog.records if "webchat_limited" in r.getMessage()]
    assert [e["limit"] for e in limited] == ["session"]
    assert "127.0.0.1" not in json.dumps(limited), "no client address in the log"
    assert session not in "\n".join(r.getMessage() for r in caplog.records)
    metrics = await gateway_of(client).metrics_text()
    assert b'gateway_rejected_total{channel="webchat",status="429"} 1.0' in metrics
