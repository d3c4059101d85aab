"""The operator console through the real gateway: Telegram for the person's side (fake Bot API),
the fake Rasa server for the assistant, and an aiohttp client for the operator's browser."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from channels import cases
from channels import gateway as gateway_module
from channels.cases import OperatorSession
from channels.console.pages import when
from channels.console.routes import COOKIE, CSP, HEADERS
from channels.gateway import PARK_AFTER
from channels.platforms.telegram import SECRET_HEADER
from tests.channels.conftest import assert_not_logged, gateway_for, gateway_of, payload, serve, settle
from tests.channels.platforms.test_telegram import SECRET_TOKEN, TOKEN, USER, env

OPERATOR, PASSWORD = "amal", "correct horse battery 7"
OTHER, OTHER_PASSWORD = "bashir", "another long password 9"
WRONG_PASSWORD = "correct horse battery 8"
WEBHOOK = "/webhooks/telegram"
REPLY = "We have called the embassy for you. Stay where you are; a caseworker will phone at 4 pm."
NOTE = "Employer known to us from case 2023-17; escalate if no answer by Friday."
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
LOGIN_COOKIE = "rights_console_login"
CASE_LINK = re.compile(r'href="/console/cases/(\d+)"')
# how the action server ranks these categories (knowledge.vocab.SEVERITY); "" is a plain request
RANK = {"self_harm": 9, "medical": 9, "violence": 8, "locked_in": 8, "documents": 6, "": 1}


async def start_console(tmp_path: Path, rasa_url: str, api_url: str, **overrides: str) -> TestClient:
    """The whole gateway with Telegram on, and two operators."""
    client = await serve(gateway_for(tmp_path, rasa_url, **{**env(api_url), **overrides}))
    gateway = gateway_of(client)
    await gateway.db(gateway.cases.add_operator, OPERATOR, PASSWORD)
    await gateway.db(gateway.cases.add_operator, OTHER, OTHER_PASSWORD)
    return client


@pytest.fixture(autouse=True)
def quick_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheaper password hashing for these tests (every one signs in); the algorithm is the same."""
    monkeypatch.setitem(cases.SCRYPT, "n", 2**10)


@pytest.fixture
async def started_console(tmp_path, fake_rasa, fake_api) -> Any:
    """``await started_console(**env)``: the console over plain http, as a local run has it
    (aiohttp's test client, unlike a browser on 127.0.0.1, never sends a Secure cookie over http)."""
    clients: list[TestClient] = []

    async def start(**overrides: str) -> TestClient:
        overrides = {"CONSOLE_SECURE_COOKIES": "false", **overrides}
        client = await start_console(tmp_path, fake_rasa.url, fake_api.url, **overrides)
        clients.append(client)
        return client

    yield start
    for client in clients:
        await client.close()


def update(update_id: int, text: str) -> bytes:
    """The recorded Telegram text update, as a new message from the same person."""
    data = json.loads(payload("telegram", "text.json"))
    data["update_id"] = update_id
    data["message"]["message_id"] = update_id % 10000
    data["message"]["text"] = text
    return json.dumps(data, ensure_ascii=False).encode()


async def person_writes(client: TestClient, update_id: int, text: str) -> None:
    response = await client.post(WEBHOOK, data=update(update_id, text), headers={SECRET_HEADER: SECRET_TOKEN})
    assert response.status == 200
    await settle(client)


async def open_case(client: TestClient, conversation: str = "telegram-0000", category: str = "documents",
                    ago: float = 60.0, transcript: list[tuple[str, str, float]] | None = None,
                    summary: str = "Employer holds her passport.", topic: str = "passport",
                    citations: list[str] | None = None) -> int:
    gateway = gateway_of(client)
    now = time.time()
    return await gateway.db(gateway.cases.open_case, conversation, "telegram", "ar", category,
                            RANK.get(category, 6), topic,
                            citations if citations is not None else ["Domestic Workers Law, Art. 21"], summary,
                            transcript or [("person", "my employer took my passport", now - ago)], now - ago)


def conversation_of_user(client: TestClient) -> str:
    return gateway_of(client).keys.pseudonym("telegram", USER)


async def login_token(client: TestClient) -> str | None:
    """The sign-in form's CSRF token (its cookie stays in the client's jar)."""
    found = CSRF.search(await page(client, "/console/login"))
    return found.group(1) if found else None


FRESH_FORM = "<the token of a freshly loaded form>"


async def login(client: TestClient, username: str, password: str, token: str | None = FRESH_FORM,
                **headers: str) -> Any:
    """POST the sign-in form as a browser does: with the token of a freshly loaded form (the
    default), with ``token``, or with none (None)."""
    if token == FRESH_FORM:
        token = await login_token(client)
    data = {"username": username, "password": password, **({"csrf": token} if token is not None else {})}
    return await client.post("/console/login", data=data, headers=headers, allow_redirects=False)


async def login_by_hand(client: TestClient, username: str, password: str) -> tuple[Any, Any]:
    """The form and the sign-in's answer, the form's cookie sent by hand: aiohttp's client, unlike a
    browser on 127.0.0.1, keeps a Secure cookie from going over plain http."""
    form = await client.get("/console/login")
    token = CSRF.search(await form.text())
    assert token
    response = await client.post(
        "/console/login", data={"username": username, "password": password, "csrf": token.group(1)},
        headers={"Cookie": f"{LOGIN_COOKIE}={token.group(1)}"}, allow_redirects=False)
    return form, response


async def sign_in(client: TestClient, username: str = OPERATOR, password: str = PASSWORD) -> str:
    """Sign in; the CSRF token the pages carry."""
    response = await login(client, username, password)
    assert response.status == 303, await response.text()
    page = await client.get("/console")
    found = CSRF.search(await page.text())
    assert found, "the queue page has no CSRF field"
    return found.group(1)


async def page(client: TestClient, path: str, status: int = 200) -> str:
    response = await client.get(path, allow_redirects=False)
    assert response.status == status, f"GET {path}: HTTP {response.status}"
    return await response.text()


async def act(client: TestClient, case_id: int, action: str, csrf: str | None, text: str | None = None,
              **headers: str) -> Any:
    data = {key: value for key, value in (("csrf", csrf), ("text", text)) if value is not None}
    return await client.post(f"/console/cases/{case_id}/{action}", data=data, headers=headers,
                             allow_redirects=False)


async def state(client: TestClient, case_id: int) -> tuple[str, int, list[str]]:
    """A case's status, transcript length and the audited actions: what a refused POST must not change."""
    gateway = gateway_of(client)
    case = await gateway.db(gateway.cases.get, case_id)
    messages = await gateway.db(gateway.cases.messages, case_id)
    log = await gateway.db(gateway.cases.audit_log, 200)
    return case.status, len(messages), [row["action"] for row in log]


# signing in


async def test_sign_in_right_and_wrong_password(started_console) -> None:
    client = await started_console()
    form = await page(client, "/console/login")
    assert 'name="username"' in form and 'type="password"' in form

    for username, password in ((OPERATOR, WRONG_PASSWORD), ("nobody", PASSWORD), (OPERATOR, ""), ("", "")):
        response = await login(client, username, password)
        assert response.status == 401, (username, password)
        assert "wrong username or password" in await response.text()
        assert COOKIE not in response.cookies
    assert await page(client, "/console", 303)  # still signed out

    response = await login(client, OPERATOR, PASSWORD)
    assert response.status == 303 and response.headers["Location"] == "/console"
    queue = await page(client, "/console")
    assert f"Signed in as <b>{OPERATOR}</b>" in queue
    login_again = await client.get("/console/login", allow_redirects=False)
    assert login_again.status == 303 and login_again.headers["Location"] == "/console"


async def test_session_cookie_flags(started_console) -> None:
    client = await started_console()
    response = await login(client, OPERATOR, PASSWORD)
    cookie, login_cookie = sorted(response.headers.getall("Set-Cookie"), key=lambda c: c.startswith(LOGIN_COOKIE))
    assert login_cookie.startswith(f'{LOGIN_COOKIE}=""') and "Max-Age=0" in login_cookie, "the form's token goes"
    assert cookie.startswith(f"{COOKIE}=")
    attributes = {part.strip().split("=")[0].lower(): part.strip() for part in cookie.split(";")[1:]}
    assert attributes["path"] == "Path=/console"
    assert attributes["samesite"] == "SameSite=Strict"
    assert "httponly" in attributes
    assert "secure" not in attributes, "plain http here: a Secure cookie would never come back"
    token = cookie.split(";")[0].split("=", 1)[1]
    assert len(token) >= 40


async def test_session_cookie_is_secure_behind_https(started_console) -> None:
    """Even with CONSOLE_SECURE_COOKIES=false: an https public URL means the console is behind TLS."""
    client = await started_console(GATEWAY_PUBLIC_URL="https://hotline.example.org")
    _, response = await login_by_hand(client, OPERATOR, PASSWORD)
    (cookie,) = [c for c in response.headers.getall("Set-Cookie") if c.startswith(f"{COOKIE}=")]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie


async def test_pages_redirect_to_sign_in_without_a_session(started_console) -> None:
    client = await started_console()
    case_id = await open_case(client)
    for path in ("/console", f"/console/cases/{case_id}", "/console/audit"):
        response = await client.get(path, allow_redirects=False)
        assert (response.status, response.headers["Location"]) == (303, "/console/login"), path
        response = await client.get(path, allow_redirects=False, headers={"Cookie": f"{COOKIE}=forged-token"})
        assert (response.status, response.headers["Location"]) == (303, "/console/login"), path
    for action in ("claim", "reply", "note", "close"):
        response = await act(client, case_id, action, "anything", "hello")
        assert (response.status, response.headers["Location"]) == (303, "/console/login"), action
    assert await state(client, case_id) == ("open", 1, [])


async def test_sign_out_ends_the_session(started_console) -> None:
    client = await started_console()
    response = await login(client, OPERATOR, PASSWORD)
    token = response.cookies[COOKIE].value
    csrf = CSRF.search(await page(client, "/console"))
    assert csrf
    response = await client.post("/console/logout", data={"csrf": csrf.group(1)}, allow_redirects=False)
    assert (response.status, response.headers["Location"]) == (303, "/console/login")
    assert await page(client, "/console", 303)
    # the old token is dead on the server too, not only forgotten by this browser
    response = await client.get("/console", allow_redirects=False, headers={"Cookie": f"{COOKIE}={token}"})
    assert response.status == 303
    log = await gateway_of(client).db(gateway_of(client).cases.audit_log, 10)
    assert [row["action"] for row in log] == ["sign_out", "sign_in"]


# malformed requests: a 4xx that says what was wrong, never a 500, and nothing done

NOT_UTF8 = b"csrf=\xff\xfe&text=\xff"
FORM = "application/x-www-form-urlencoded"
# (label, body, Content-Type): what the report's probes (4.16) sent, and their cousins
MALFORMED_FORMS = [
    ("body not UTF-8", NOT_UTF8, FORM),
    ("unknown charset", b"csrf=x&text=hello", f"{FORM}; charset=bogus"),
    ("a charset that is no text encoding", b"csrf=x&text=hello", f"{FORM}; charset=rot13"),
    ("a charset that makes lone surrogates", b"csrf=x&text=\\ud800", f"{FORM}; charset=unicode_escape"),
    ("percent-encoded bytes that are not UTF-8", b"csrf=%ff%fe&text=%c3", FORM),
    ("too many fields", b"&".join(b"f%d=x" % i for i in range(500)), FORM),
]


async def raw_get(client: TestClient, path: str, header: bytes) -> tuple[int, bytes]:
    """GET ``path`` with one header line sent byte for byte (aiohttp's client would encode it as
    UTF-8 first); the status and the raw response head."""
    reader, writer = await asyncio.open_connection(client.host, client.port)
    try:
        writer.write(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n" + header +
                     b"\r\nConnection: close\r\n\r\n")
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    finally:
        writer.close()
    return int(head.split(b" ", 2)[1]), head


async def test_a_console_cookie_that_is_not_utf8_counts_as_signed_out(started_console) -> None:
    client = await started_console()
    for cookie in (b'rights_console="\xff\xfe"', b"rights_console=\xff\xfe", b'rights_console="\\377"',
                   b"rights_console=\xed\xa0\x80", b"rights_console=" + b"A" * 300):
        for path in ("/console", "/console/audit", "/console/login"):
            status, head = await raw_get(client, path, b"Cookie: " + cookie)
            expected = 200 if path == "/console/login" else 303
            assert status == expected, (cookie, path, status)
            if expected == 303:
                assert b"\r\nLocation: /console/login\r\n" in head


@pytest.mark.parametrize(("label", "body", "content_type"), MALFORMED_FORMS)
async def test_malformed_forms_are_400_on_every_console_post(started_console, fake_api, label, body,
                                                             content_type) -> None:
    client = await started_console()
    await person_writes(client, 700020, "hello")
    case_id = await open_case(client, conversation_of_user(client))
    await sign_in(client)
    before = await state(client, case_id)
    paths = [f"/console/cases/{case_id}/{action}" for action in ("claim", "reply", "note", "close")]
    for path in [*paths, "/console/logout"]:
        response = await client.post(path, data=body, headers={"Content-Type": content_type},
                                     allow_redirects=False)
        assert response.status == 400, (label, path, response.status)
        shown = await response.text()
        assert "Nothing was done" in shown and "Server got itself in trouble" not in shown
    assert await state(client, case_id) == before
    assert await page(client, "/console"), "still signed in: the refused logout did nothing"
    assert len(fake_api.requests) == 1


async def test_a_form_of_another_type_is_refused(started_console) -> None:
    client = await started_console()
    case_id = await open_case(client)
    csrf = await sign_in(client)
    for content_type, body in (("application/json", b'{"csrf": "%s"}' % csrf.encode()),
                               ("text/plain", f"csrf={csrf}".encode())):
        response = await client.post(f"/console/cases/{case_id}/claim", data=body,
                                     headers={"Content-Type": content_type}, allow_redirects=False)
        assert response.status == 415, content_type
    assert (await state(client, case_id))[0] == "open"


# the queue and the case page


async def test_queue_is_most_urgent_first_then_oldest(started_console) -> None:
    client = await started_console()
    documents_old = await open_case(client, "telegram-a", "documents", ago=3600)
    self_harm_new = await open_case(client, "telegram-b", "self_harm", ago=60)
    violence_oldest = await open_case(client, "telegram-c", "violence", ago=7200)
    violence_newer = await open_case(client, "telegram-d", "violence", ago=600)
    request_oldest = await open_case(client, "telegram-e", "", ago=9000)
    closed = await open_case(client, "telegram-f", "medical", ago=30)
    gateway = gateway_of(client)
    await gateway.db(gateway.cases.close_case, closed, OperatorSession(1, OPERATOR, "x"))
    await gateway.db(gateway.cases.claim, violence_newer, OperatorSession(2, OTHER, "x"))
    await sign_in(client)

    queue = await page(client, "/console")
    order = [int(found) for found in CASE_LINK.findall(queue)]
    assert order == [self_harm_new, violence_oldest, violence_newer, documents_old, request_oldest]
    rows = {int(m.group(1)): m.group(0) for m in re.finditer(r'<tr [^>]*><td><a href="/console/cases/(\d+)".*?</tr>',
                                                             queue)}
    assert "<td>Violence</td>" in rows[violence_oldest] and "<td>2 h</td>" in rows[violence_oldest]
    assert "<td>Arabic (ar)</td><td>telegram</td>" in rows[violence_oldest]
    assert f"<td>claimed</td><td>{OTHER}</td>" in rows[violence_newer]
    assert "<td>open</td><td></td>" in rows[documents_old]
    assert "<td>Asked for a person</td>" in rows[request_oldest]
    assert '<meta http-equiv="refresh" content="20">' in queue


async def test_claim_reply_note_close_and_the_audit_log(started_console, fake_api, fake_rasa, caplog) -> None:
    caplog.set_level(logging.INFO)
    client = await started_console()
    await person_writes(client, 700001, "my employer took my passport")  # Telegram now knows the way back
    assert len(fake_api.requests) == 1  # the assistant's answer
    case_id = await open_case(client, conversation_of_user(client), "documents")
    # a failed attempt with the password typed into the username field: it must not be logged either
    assert (await login(client, WRONG_PASSWORD, OPERATOR)).status == 401
    csrf = await sign_in(client)

    response = await act(client, case_id, "claim", csrf)
    assert (response.status, response.headers["Location"]) == (303, f"/console/cases/{case_id}")
    assert "Status</dt><dd>claimed by you" in await page(client, f"/console/cases/{case_id}")

    response = await act(client, case_id, "reply", csrf, REPLY)
    assert response.status == 303
    sent = (await fake_api.wait_for(2))[1]
    assert sent.path == f"/bot{TOKEN}/sendMessage"
    assert sent.json() == {"chat_id": int(USER), "text": REPLY}

    response = await act(client, case_id, "note", csrf, NOTE)
    assert response.status == 303
    await settle(client)
    assert len(fake_api.requests) == 2, "a note is never sent to the person"
    case_page = await page(client, f"/console/cases/{case_id}")
    assert '<span class="author">Operator</span>' in case_page and f"<p dir=\"auto\">{REPLY}</p>" in case_page
    assert '<li class="msg msg-note">' in case_page and NOTE in case_page
    assert "Domestic Workers Law, Art. 21" in case_page and "Employer holds her passport." in case_page

    response = await act(client, case_id, "close", csrf)
    assert (response.status, response.headers["Location"]) == (303, "/console")
    assert f"/console/cases/{case_id}" not in await page(client, "/console")
    assert (await state(client, case_id))[0] == "closed"

    gateway = gateway_of(client)
    log = await gateway.db(gateway.cases.audit_log, 10)
    assert [(row["operator"], row["action"], row["case_id"]) for row in reversed(log)] == [
        (OPERATOR, "sign_in", None), (OPERATOR, "claim", case_id), (OPERATOR, "reply", case_id),
        (OPERATOR, "note", case_id), (OPERATOR, "close", case_id)]
    audit = await page(client, "/console/audit")
    cells = re.findall(r"<td>(amal)</td><td>(\w+)</td><td>(?:<a href=\"/console/cases/(\d+)\")?", audit)
    assert cells == [(OPERATOR, "close", str(case_id)), (OPERATOR, "note", str(case_id)),
                     (OPERATOR, "reply", str(case_id)), (OPERATOR, "claim", str(case_id)),
                     (OPERATOR, "sign_in", "")]
    assert NOTE not in audit and REPLY not in audit

    assert_not_logged(caplog, PASSWORD, WRONG_PASSWORD, REPLY, NOTE, USER, csrf)
    events = [json.loads(r.getMessage())["event"] for r in caplog.records if r.getMessage().startswith("{")]
    assert {"console_sign_in", "console_sign_in_refused", "console_action"} <= set(events)


async def test_post_without_or_with_a_wrong_csrf_token_does_nothing(started_console, fake_api) -> None:
    client = await started_console()
    await person_writes(client, 700002, "hello")
    case_id = await open_case(client, conversation_of_user(client))
    csrf = await sign_in(client)
    wrong = csrf[:-1] + ("A" if csrf[-1] != "A" else "B")
    before = await state(client, case_id)
    assert before == ("open", 1, ["sign_in"])
    for action in ("claim", "reply", "note", "close"):
        for token in (None, "", wrong, csrf[:10]):
            response = await act(client, case_id, action, token, "text")
            assert response.status == 403, (action, token)
            assert "Nothing was done" in await response.text()
    # the right token from another site, as a browser marks it, is refused as well
    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        response = await act(client, case_id, "claim", csrf, **headers)
        assert response.status == 403, headers
    for token in (None, wrong):
        data = {"csrf": token} if token else {}
        response = await client.post("/console/logout", data=data, allow_redirects=False)
        assert response.status == 403
    await settle(client)
    assert await state(client, case_id) == before
    assert len(fake_api.requests) == 1  # only the assistant's first answer
    assert await page(client, "/console")  # still signed in
    # and the right token does work, so the refusals above were about the token
    assert (await act(client, case_id, "claim", csrf)).status == 303


async def test_reply_before_claim_and_other_refused_actions_are_409(started_console, fake_api) -> None:
    client = await started_console()
    await person_writes(client, 700003, "hello")
    case_id = await open_case(client, conversation_of_user(client))
    csrf = await sign_in(client)
    before = await state(client, case_id)

    response = await act(client, case_id, "reply", csrf, REPLY)
    assert response.status == 409
    assert "claim the case before replying" in await response.text()
    assert await state(client, case_id) == before

    gateway = gateway_of(client)
    await gateway.db(gateway.cases.claim, case_id, OperatorSession(2, OTHER, "x"))
    response = await act(client, case_id, "claim", csrf)
    assert response.status == 409 and "claimed by another operator" in await response.text()
    response = await act(client, case_id, "reply", csrf, REPLY)
    assert response.status == 409
    assert (await state(client, case_id))[1:] == (before[1], ["claim", "sign_in"])

    await gateway.db(gateway.cases.close_case, case_id, OperatorSession(2, OTHER, "x"))
    for action, text in (("note", NOTE), ("close", None), ("claim", None)):
        response = await act(client, case_id, action, csrf, text)
        assert response.status == 409, action
        assert f"case {case_id} is closed" in await response.text()

    response = await act(client, case_id, "note", csrf, "   ")
    assert response.status == 400 and "empty" in await response.text()
    await settle(client)
    assert len(fake_api.requests) == 1
    assert (await state(client, case_id))[1] == before[1]
    assert await page(client, "/console/cases/99999", 404)


async def test_everything_shown_is_escaped(started_console) -> None:
    client = await started_console()
    hostile = '<script>alert("x")</script>'
    case_id = await open_case(client, category="<b>x</b>", topic="<i>t</i>", summary='<img src=x onerror="alert(1)">',
                              citations=['"><svg onload=alert(2)>'],
                              transcript=[("person", hostile, time.time()), ("bot", "a & b < c", time.time())])
    await sign_in(client)
    for path in ("/console", f"/console/cases/{case_id}"):
        shown = await page(client, path)
        for raw in ("<script>", "<b>x</b>", "<i>t</i>", "<img", "<svg"):
            assert raw not in shown, (path, raw)
    shown = await page(client, f"/console/cases/{case_id}")
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in shown
    assert "a &amp; b &lt; c" in shown
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in shown
    assert "&#34;&gt;&lt;svg onload=alert(2)&gt;" in shown


async def test_security_headers_on_every_console_response(started_console) -> None:
    client = await started_console()
    case_id = await open_case(client)
    responses = [await client.get("/console", allow_redirects=False),
                 await client.get("/console/login"),
                 await login(client, OPERATOR, WRONG_PASSWORD)]
    csrf = await sign_in(client)
    responses += [await client.get("/console"), await client.get(f"/console/cases/{case_id}"),
                  await client.get("/console/audit"), await client.get("/console/static/console.css"),
                  await client.get("/console/cases/12345"), await client.get("/console/nothing-here"),
                  await act(client, case_id, "claim", "wrong"), await act(client, case_id, "reply", csrf, "hi")]
    assert [r.status for r in responses] == [303, 200, 401, 200, 200, 200, 200, 404, 404, 403, 409]
    for response in responses:
        for name, value in HEADERS.items():
            assert response.headers.get(name) == value, (response.url, name)
        if response.content_type == "text/html":
            assert "<script" not in await response.text()
    assert "default-src 'none'" in CSP and "script-src" not in CSP and "http" not in CSP
    assert "frame-ancestors 'none'" in CSP and "form-action 'self'" in CSP
    # the rest of the gateway keeps its own headers
    assert "Content-Security-Policy" not in (await client.get("/healthz")).headers


async def test_bot_is_silent_while_claimed_and_answers_again_after_close(started_console, fake_api,
                                                                         fake_rasa) -> None:
    client = await started_console()
    await person_writes(client, 700010, "my employer took my passport")
    assert [m["message"] for m in fake_rasa.received] == ["my employer took my passport"]
    case_id = await open_case(client, conversation_of_user(client), transcript=[])
    csrf = await sign_in(client)

    await person_writes(client, 700011, "still open, not claimed")  # open: the assistant still answers
    assert len(fake_rasa.received) == 2
    assert (await act(client, case_id, "claim", csrf)).status == 303

    await person_writes(client, 700012, '<script>alert("hi")</script> are you there?')
    assert len(fake_rasa.received) == 2, "a claimed case's messages go to the operator, not to Rasa"
    assert len(fake_api.requests) == 2, "and the assistant does not answer"
    shown = await page(client, f"/console/cases/{case_id}")
    assert "&lt;script&gt;alert(&#34;hi&#34;)&lt;/script&gt; are you there?" in shown
    assert "<script>" not in shown
    gateway = gateway_of(client)
    messages = await gateway.db(gateway.cases.messages, case_id)
    assert [m.author for m in messages][-1] == "person"

    assert (await act(client, case_id, "close", csrf)).status == 303
    await person_writes(client, 700013, "thank you")
    assert [m["message"] for m in fake_rasa.received][-1] == "thank you"
    assert len(fake_rasa.received) == 3
    assert len(await gateway.db(gateway.cases.messages, case_id)) == len(messages), "closed: no more appends"


# the command line


# what the gateway could not process


async def test_failed_messages_are_counted_on_the_queue_and_listed(started_console, monkeypatch) -> None:
    monkeypatch.setattr(gateway_module, "backoff", lambda attempts: 0.01)
    client = await started_console()
    gateway = gateway_of(client)
    await sign_in(client)
    assert "could not be processed" not in await page(client, "/console")
    now = time.time()
    unreadable = b"gAAAAA-sealed-under-another-secret"
    await gateway.db(gateway.store.accept, "k1", conversation_of_user(client), "telegram", unreadable, now, now + 60)
    gateway._wake_inbox.set()
    for _ in range(200):
        if await gateway.db(gateway.store.parked):
            break
        await asyncio.sleep(0.02)

    queue = await page(client, "/console")
    assert '<a href="/console/failed">1 message could not be processed</a>' in queue
    failed = await page(client, "/console/failed")
    (row,) = re.findall(r"<tr><td>.*?</tr>", failed)
    cells = re.findall(r"<td>(.*?)</td>", row)
    assert cells[1:] == ["message from a person", "telegram", when(now), str(PARK_AFTER), "SealError"]
    assert "gAAAAA" not in failed
