"""Web chat: the page and its JSON API through the real gateway, with the fake Rasa server."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import re
from typing import Any

import pytest

from channels import gateway as gateway_module
from channels.keys import Secret
from channels.webchat.channel import MAX_BODY, MAX_TEXT, Sessions
from tests.channels.conftest import SECRET, Case, assert_not_logged, fuzz, gateway_of, run_cases, settle

# These tests are about what the API does, not its limits (test_abuse.py): room enough for all of them.
ENV = {"WEBCHAT_ENABLED": "true", "WEBCHAT_IP_BURST": "10000", "WEBCHAT_SESSION_BURST": "10000"}
API = "/chat/api/messages"
# sessions as the gateway issues them (POST /chat/api/session) with the tests' GATEWAY_SECRET
SESSION = Sessions(Secret(SECRET)).issue()
OTHER = Sessions(Secret(SECRET)).issue()
QUESTION = "my employer keeps my passport"


def body(text: Any = QUESTION, *, id: str = "m1", session: Any = SESSION, after: Any = 0, **extra: Any) -> bytes:
    data: dict[str, Any] = {"session": session, "id": id, "after": after, **extra}
    if text is not None:
        data["text"] = text
    return json.dumps(data, ensure_ascii=False).encode()


def sign(body: bytes, how: str) -> dict[str, str]:
    """The web chat has no signature; what it checks is that a browser posts from this site."""
    return {"valid": {}, "missing": {}, "forged": {"Origin": "https://evil.example"}}[how]


CASES = [
    Case("text message", body(), forwarded=(QUESTION,)),
    Case("retried send with the same id is not forwarded twice", body()),
    Case("Arabic text", body("صاحب العمل أخذ جواز سفري", id="m2"), forwarded=("صاحب العمل أخذ جواز سفري",)),
    Case("button press posts the payload", body(None, id="m3", payload='/feedback{"helpful":"yes"}', title="Yes"),
         forwarded=('/feedback{"helpful":"yes"}',)),
    Case("same id in another session is another message", body(id="m1", session=OTHER), forwarded=(QUESTION,)),
    Case("cross-origin POST", body(id="x1"), status=403, signature="forged"),
    Case("not JSON", b"session=abc&text=hi", status=400),
    Case("invalid JSON", b'{"session": "' + SESSION.encode() + b'", "text": ', status=400),
    Case("JSON but not an object", b'["hello"]', status=400),
    Case("wrong content type", body(id="x2"), status=400, content_type="text/plain"),
    Case("missing session", body(id="x3", session=None), status=400),
    Case("session too short", body(id="x4", session="abc123"), status=400),
    Case("session with other characters", body(id="x5", session="k3J9sPq2Xw7L/../mN4vB8c"), status=400),
    Case("session too long", body(id="x6", session="a" * 65), status=400),
    Case("missing id", json.dumps({"session": SESSION, "text": "hi"}).encode(), status=400),
    Case("missing text", body(None, id="x7"), status=400),
    Case("empty text", body("", id="x8"), status=400),
    Case("blank text", body("  \n ", id="x9"), status=400),
    Case("text too long", body("a" * (MAX_TEXT + 1), id="x10"), status=400),
    Case("text is not a string", body(42, id="x11"), status=400),
    Case("text and payload both", body("hi", id="x12", payload="/affirm"), status=400),
    Case("negative after", body(id="x13", after=-1), status=400),
    Case("body too large", body("a" * (MAX_BODY + 10), id="x14"), status=413),
]


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gateway_module, "backoff", lambda attempts: 0.05)


async def post(client: Any, data: bytes, **headers: str) -> Any:
    response = await client.post(API, data=data, headers={"Content-Type": "application/json", **headers})
    return response.status, await response.json()


async def test_api_cases(started, fake_rasa, caplog) -> None:
    client = await started(ENV)
    await run_cases(client, API, CASES, sign, fake_rasa, caplog)
    senders = [item["sender"] for item in fake_rasa.received]
    assert len(set(senders)) == 2 and all(SESSION not in s and OTHER not in s for s in senders)
    assert_not_logged(caplog, QUESTION, "جواز", SESSION, OTHER)


async def test_errors_say_what_is_wrong(started, fake_rasa) -> None:
    client = await started(ENV)
    assert await post(client, body("")) == (400, {"error": "text is empty"})
    status, answer = await post(client, body(session="short"))
    assert status == 400 and "session must be 16-64 URL-safe characters" in answer["error"]
    status, answer = await post(client, body(), Origin="https://evil.example")
    assert status == 403 and "cross-origin" in answer["error"]
    assert fake_rasa.received == []


async def test_reply_comes_back_with_its_buttons(started, fake_rasa) -> None:
    client = await started(ENV)
    status, answer = await post(client, body())
    assert status == 200
    (message,) = answer["messages"]
    assert answer == {"pending": False, "messages": [{
        "id": message["id"], "text": "reply 1",
        "buttons": [{"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]}]}
    assert fake_rasa.received == [{"sender": gateway_of(client).keys.pseudonym("webchat", SESSION),
                                   "message": QUESTION}]


async def test_retried_post_is_answered_once_and_still_gets_the_reply(started, fake_rasa) -> None:
    client = await started(ENV)
    _, first = await post(client, body())
    _, again = await post(client, body())  # the page lost the first answer and sends again
    assert len(fake_rasa.received) == 1
    assert again == first, "the retry is given the reply it missed, not a second one"
    _, later = await post(client, body(after=first["messages"][-1]["id"]))
    assert later == {"messages": [], "pending": False}


async def test_same_origin_post_is_accepted(started, fake_rasa) -> None:
    client = await started(ENV)
    origin = f"http://{client.host}:{client.port}"
    status, _ = await post(client, body(), Origin=origin, **{"Sec-Fetch-Site": "same-origin"})
    assert status == 200
    status, _ = await post(client, body(id="m2"), Origin=origin, **{"Sec-Fetch-Site": "cross-site"})
    assert status == 403
    assert len(fake_rasa.received) == 1


async def test_polling_returns_only_newer_messages(started, fake_rasa) -> None:
    client = await started(ENV)
    _, first = await post(client, body(id="m1"))
    _, second = await post(client, body("and my pay?", id="m2", after=first["messages"][-1]["id"]))
    first_id, second_id = first["messages"][0]["id"], second["messages"][0]["id"]
    assert second_id > first_id and [m["text"] for m in second["messages"]] == ["reply 2"]

    async def poll(session: str, after: Any) -> Any:
        response = await client.get(API, params={"after": str(after)}, headers={"X-Chat-Session": session})
        return response.status, await response.json()

    status, answer = await poll(SESSION, 0)
    assert status == 200 and [m["text"] for m in answer["messages"]] == ["reply 1", "reply 2"]
    assert [m["text"] for m in (await poll(SESSION, first_id))[1]["messages"]] == ["reply 2"]
    assert (await poll(SESSION, second_id))[1]["messages"] == []
    assert (await poll(OTHER, 0))[1]["messages"] == [], "another session sees nothing"

    # a later message, as an operator's reply would arrive, shows up on the next poll
    gateway = gateway_of(client)
    conversation = gateway.keys.pseudonym("webchat", SESSION)
    operator = json.dumps({"text": "An adviser will call you tomorrow.", "buttons": []})
    await gateway.db(gateway.store.complete_inbox, None, [], [(conversation, operator)], gateway.clock())
    (message,) = (await poll(SESSION, second_id))[1]["messages"]
    assert message == {"id": message["id"], "text": "An adviser will call you tomorrow.", "buttons": []}

    assert (await poll("short", 0))[0] == 400
    assert (await poll(SESSION, "x"))[0] == 400
    assert (await client.get(API, params={"after": "0"})).status == 400, "no session"


async def test_slow_rasa_answer_is_marked_pending_and_arrives_by_polling(started, fake_rasa, monkeypatch) -> None:
    monkeypatch.setattr(gateway_module, "backoff", lambda attempts: 1.0)
    fake_rasa.fail_next = 1  # the first attempt fails; the gateway tries again a second later
    client = await started(ENV)
    assert await post(client, body()) == (200, {"messages": [], "pending": True})
    await settle(client)
    response = await client.get(API, params={"after": "0"}, headers={"X-Chat-Session": SESSION})
    assert [m["text"] for m in (await response.json())["messages"]] == ["reply 1"]


def _interface_languages() -> list[str]:
    from importlib import resources

    return list(json.loads((resources.files("channels.webchat") / "static" / "strings.json").read_text("utf-8")))


@pytest.mark.parametrize("header,expected", [
    ("bn-BD,bn;q=0.9,en;q=0.8", "bn"),
    ("de-DE,fr;q=0.5", "fr"),  # no German page: the next language that has one
    ("en;q=0.5,ne;q=0.9", "ne"),  # by weight, not by order
    ("bn;q=0", "en"),  # q=0 means "not this one"
    ("", "en"),
    (None, "en"),
    ("xx, ;q=abc", "en"),
])
def test_the_page_language_follows_accept_language(header: str | None, expected: str) -> None:
    from channels.webchat.channel import pick_language

    assert pick_language(header, {lang: None for lang in _interface_languages()}) == expected


@pytest.mark.parametrize("lang", _interface_languages())
async def test_page_is_served_small_and_locked_down(started, fake_rasa, lang) -> None:
    """Every language's page: small, its inline script and style allowed by hash, cached by ETag.
    It carries English and its own language only (the page of every language at once was 15.9 KB
    with six of them, over the budget)."""
    client = await started(ENV)
    response = await client.get("/", allow_redirects=False)
    assert response.status == 302 and response.headers["Location"] == "/chat"
    response = await client.get("/chat", headers={"Accept-Encoding": "gzip", "Accept-Language": f"{lang},en;q=0.5"})
    page = await response.text()
    assert response.status == 200 and response.content_type == "text/html"
    assert len(page.encode()) < 15 * 1024
    strings = re.search(r"var T = (\{.*?\});", page)
    assert strings is not None and set(json.loads(strings.group(1))) == {"en", lang}
    assert response.headers["Vary"] == "Accept-Language"
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "connect-src 'self'" in csp
    for tag in ("script", "style"):
        (inline,) = re.findall(rf"<{tag}>(.*?)</{tag}>", page, re.DOTALL)
        digest = base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode()
        assert f"{tag}-src 'sha256-{digest}'" in csp, f"the CSP must allow exactly the page's inline {tag}"
    assert "unsafe-inline" not in csp and "http" not in csp
    assert not re.search(r"""(src|href)\s*=|@import|url\(""", page), "no external or extra resources"
    assert 'dir = "auto"' in page and 'id="text" dir="auto"' in page, "bubbles and input follow their text"
    assert "not legal advice" in page
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    cached = await client.get("/chat", headers={"If-None-Match": response.headers["ETag"],
                                                "Accept-Language": f"{lang},en;q=0.5"})
    assert cached.status == 304, "a phone that has the page does not download it again"


@pytest.mark.parametrize("seed", [1, 2])
async def test_fuzz(started, fake_rasa, seed) -> None:
    client = await started(ENV)
    await fuzz(client, API, sign, fake_rasa, seed)


async def test_logs_carry_no_text_or_session(started, fake_rasa, caplog) -> None:
    caplog.set_level(logging.INFO)
    client = await started(ENV)
    await post(client, body("my boss took my passport in Doha"))
    await post(client, body("x" * 10, session="bad!session-id-123456"))
    await client.get(API, params={"after": "0"}, headers={"X-Chat-Session": SESSION})
    await client.get(API, params={"session": SESSION, "after": "0"})  # an old page's poll, refused
    await settle(client)
    assert_not_logged(caplog, "passport in Doha", SESSION, "bad!session")


async def test_webchat_off_has_no_routes(started, fake_rasa) -> None:
    client = await started({"WEBCHAT_ENABLED": "false"})
    assert (await client.get("/chat")).status == 404
    assert (await client.post(API, data=body(), headers={"Content-Type": "application/json"})).status in (404, 405)
    await asyncio.sleep(0)
