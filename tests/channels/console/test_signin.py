"""Signing in to the console under abuse (the security report's rows 4.3, 4.4, 4.8, 4.16, 4.17):
malformed forms, the form's CSRF token, throttling per account and per address, and password
hashing that never holds up the gateway's database thread."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from channels import cases
from channels.cases import CaseStore
from channels.console.signin import Lockouts
from channels.platforms.telegram import SECRET_HEADER
from tests.channels.conftest import gateway_for, gateway_of, serve, settle
from tests.channels.console.test_routes import (
    COOKIE,
    LOGIN_COOKIE,
    OPERATOR,
    OTHER,
    PASSWORD,
    WRONG_PASSWORD,
    login,
    login_by_hand,
    login_token,
    page,
    start_console,
    update,
)
from tests.channels.platforms.test_telegram import SECRET_TOKEN, env

FORM = "application/x-www-form-urlencoded"
FREE = 3  # CONSOLE_SIGNIN_FREE_FAILURES in these tests
LOCKOUT = 30  # CONSOLE_SIGNIN_LOCKOUT_SECONDS
TRY_AGAIN = re.compile(r"try again after (\d\d:\d\d:\d\d) UTC")


@pytest.fixture(autouse=True)
def quick_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(cases.SCRYPT, "n", 2**10)


class Clock:
    """The gateway's clock, moved by hand: a lockout ends when the test says so, not after a sleep."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The passwords checked against a hash (a lockout must answer without checking any)."""
    checked: list[str] = []
    real = cases.check_password

    def check(password: str, stored: str) -> bool:
        checked.append(password)
        return real(password, stored)

    monkeypatch.setattr(cases, "check_password", check)
    return checked


@pytest.fixture
async def console(tmp_path, fake_rasa, fake_api) -> Any:
    """``await console(**env)``: the console behind a trusted proxy (so that each test says which
    address a sign-in comes from), FREE free failures, LOCKOUT seconds, and a hand-moved clock."""
    clients: list[TestClient] = []

    async def start(**overrides: str) -> tuple[TestClient, Clock]:
        settings = {"CONSOLE_SECURE_COOKIES": "false", "GATEWAY_TRUST_PROXY": "true",
                    "CONSOLE_SIGNIN_FREE_FAILURES": str(FREE), "CONSOLE_SIGNIN_LOCKOUT_SECONDS": str(LOCKOUT),
                    **overrides}
        client = await start_console(tmp_path, fake_rasa.url, fake_api.url, **settings)
        clients.append(client)
        clock = Clock()
        gateway_of(client).clock = clock
        return client, clock

    yield start
    for client in clients:
        await client.close()


def source(address: str) -> dict[str, str]:
    """The header our (trusted) proxy adds: the client's address as its last hop."""
    return {"X-Forwarded-For": f"10.9.9.9, {address}"}


async def statuses(client: TestClient, attempts: list[tuple[str, str, str]]) -> list[int]:
    """(username, password, address) tried one after the other; their statuses."""
    return [(await login(client, username, password, **source(address))).status
            for username, password, address in attempts]


async def audit(client: TestClient) -> list[dict[str, Any]]:
    gateway = gateway_of(client)
    return await gateway.db(gateway.cases.audit_log, 200)


# 4.16: malformed sign-in forms


@pytest.mark.parametrize(("body", "content_type"), [
    (b"username=\xff\xfe&password=x", FORM),
    (b"username=amal&password=x", f"{FORM}; charset=bogus"),
    (b"username=amal&password=\\ud800", f"{FORM}; charset=unicode_escape"),
    (b"username=amal&password=%ed%a0%80", FORM),  # a lone surrogate, percent-encoded
])
async def test_a_malformed_sign_in_form_is_400(console, checks, body: bytes, content_type: str) -> None:
    client, _ = await console()
    response = await client.post("/console/login", data=body, headers={"Content-Type": content_type},
                                 allow_redirects=False)
    assert response.status == 400
    assert "Server got itself in trouble" not in await response.text()
    assert checks == [] and await audit(client) == []


# 4.17: login CSRF


async def test_the_sign_in_form_carries_a_token_its_cookie_must_match(console) -> None:
    client, _ = await console()
    form = await client.get("/console/login")
    (cookie,) = form.headers.getall("Set-Cookie")
    assert cookie.startswith(f"{LOGIN_COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/console/login" in cookie
    token = await login_token(client)
    assert token and token in cookie, "double submit: the form's field and its cookie carry the same token"

    refused = [await login(client, OPERATOR, PASSWORD, token=None),  # the report's probe: no token at all
               await login(client, OPERATOR, PASSWORD, token=None, Origin="null"),
               await login(client, OPERATOR, PASSWORD, token=token[:-1] + ("A" if token[-1] != "A" else "B")),
               await login(client, OPERATOR, PASSWORD, token="")]
    client.session.cookie_jar.clear()  # the right token without its cookie: another site's form
    refused.append(await login(client, OPERATOR, PASSWORD, token=token))
    for response in refused:
        assert response.status == 403
        assert COOKIE not in response.cookies
        assert "Nothing was done" in await response.text()
    assert await page(client, "/console", 303)
    assert await audit(client) == []

    # a refused form comes back with a fresh token, so the operator can simply sign in again
    again = await client.post("/console/login", data={"username": OPERATOR, "password": PASSWORD},
                              allow_redirects=False)
    token = re.search(r'name="csrf" value="([^"]+)"', await again.text())
    assert again.status == 403 and token
    assert (await login(client, OPERATOR, PASSWORD, token=token.group(1))).status == 303


# 4.3: guessing passwords


async def test_an_account_is_locked_after_its_free_failures_and_the_lockout_doubles(console, checks) -> None:
    client, clock = await console()
    addresses = (f"203.0.113.{i}" for i in range(1, 100))  # a new address each time: only the account counts
    guesses = [(OPERATOR, WRONG_PASSWORD, next(addresses)) for _ in range(FREE + 1)]
    assert await statuses(client, guesses) == [401] * (FREE + 1)
    assert len(checks) == FREE + 1

    # locked: even the right password is refused, and not even checked
    response = await login(client, OPERATOR, PASSWORD, **source(next(addresses)))
    assert response.status == 429 and response.headers["Retry-After"] == str(LOCKOUT)
    shown = await response.text()
    until = time.strftime("%H:%M:%S", time.gmtime(clock.now + LOCKOUT))
    assert TRY_AGAIN.search(shown) and TRY_AGAIN.search(shown).group(1) == until  # type: ignore[union-attr]
    assert COOKIE not in response.cookies and len(checks) == FREE + 1
    assert PASSWORD not in shown

    # after the lockout one more failure locks it again, twice as long
    clock.now += LOCKOUT + 1
    assert await statuses(client, [(OPERATOR, WRONG_PASSWORD, next(addresses))]) == [401]
    response = await login(client, OPERATOR, PASSWORD, **source(next(addresses)))
    assert response.status == 429 and response.headers["Retry-After"] == str(2 * LOCKOUT)
    clock.now += 2 * LOCKOUT + 1
    assert (await login(client, OPERATOR, PASSWORD, **source(next(addresses)))).status == 303

    # a success starts the count again: FREE more failures are free
    client.session.cookie_jar.clear()
    attempts = [(OPERATOR, WRONG_PASSWORD, next(addresses)) for _ in range(FREE)]
    attempts.append((OPERATOR, PASSWORD, next(addresses)))
    assert await statuses(client, attempts) == [401] * FREE + [303]

    # the audit log records both lockouts: the account, never the address or a password
    locks = [row for row in await audit(client) if row["action"] == "sign_in_locked"]
    assert [row["detail"] for row in reversed(locks)] == [
        f"account {OPERATOR}: locked for 30 s after {FREE + 1} failures",
        f"account {OPERATOR}: locked for 60 s after {FREE + 2} failures"]
    shown = await page(client, "/console/audit")
    assert "203.0.113" not in shown and WRONG_PASSWORD not in shown


async def test_unknown_usernames_are_throttled_like_known_ones(console) -> None:
    client, _ = await console()
    seen: dict[str, list[tuple[int, str | None, str]]] = {}
    for i, username in enumerate((OPERATOR, "nobody-here")):
        seen[username] = []
        for n in range(FREE + 3):
            response = await login(client, username, WRONG_PASSWORD, **source(f"198.51.100.{10 * i + n}"))
            main = (await response.text()).split("<main>")[1].split("</main>")[0]
            seen[username].append((response.status, response.headers.get("Retry-After"),
                                   re.sub(r'value="[^"]*"', "", main)))
    assert seen[OPERATOR] == seen["nobody-here"]
    assert [status for status, _, _ in seen[OPERATOR]] == [401] * (FREE + 1) + [429] * 2
    # an unknown name may be a password typed into the wrong field: the audit log shows a keyed hash
    details = [row["detail"] for row in await audit(client) if row["action"] == "sign_in_locked"]
    assert details[1] == f"account {OPERATOR}: locked for 30 s after {FREE + 1} failures"
    assert re.fullmatch(r"unknown account [0-9a-f]{8}: locked for 30 s after 4 failures", details[0])
    assert "nobody-here" not in str(await audit(client))


async def test_one_address_is_locked_whichever_accounts_it_tries(console, checks) -> None:
    client, clock = await console()
    attacker, operator = "192.0.2.66", "192.0.2.7"
    guesses = [(f"user{n}", WRONG_PASSWORD, attacker) for n in range(FREE + 1)]
    assert await statuses(client, guesses) == [401] * (FREE + 1)
    checked = len(checks)
    assert await statuses(client, [(OTHER, "another long password 9", attacker)]) == [429]
    assert len(checks) == checked
    # the address is locked, not the accounts: an operator elsewhere signs in
    assert await statuses(client, [(OPERATOR, PASSWORD, operator)]) == [303]
    (row,) = [row for row in await audit(client) if row["action"] == "sign_in_locked"]
    assert re.fullmatch(rf"address [0-9a-f]{{8}}: locked for 30 s after {FREE + 1} failures", row["detail"])
    assert attacker not in row["detail"]
    clock.now += LOCKOUT + 1
    client.session.cookie_jar.clear()
    assert await statuses(client, [(OTHER, "another long password 9", attacker)]) == [303]


async def test_a_flood_on_a_locked_account_makes_no_database_call(console, tmp_path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    client, clock = await console()
    gateway = gateway_of(client)
    calls: list[str] = []
    begin = gateway.cases.begin_sign_in

    def counted(*args: Any) -> Any:
        calls.append(args[0])
        return begin(*args)

    monkeypatch.setattr(gateway.cases, "begin_sign_in", counted)
    guesses = [(OPERATOR, WRONG_PASSWORD, f"203.0.113.{n}") for n in range(FREE + 1)]
    assert await statuses(client, guesses) == [401] * (FREE + 1)
    assert len(calls) == FREE + 1
    flood = [(OPERATOR, PASSWORD if n % 2 else WRONG_PASSWORD, f"198.51.100.{n}") for n in range(50)]
    assert await statuses(client, flood) == [429] * 50
    assert len(calls) == FREE + 1, "refused from the lockouts this process has seen"

    # a lockout another gateway process set on the same database: learnt from it once
    other = CaseStore(f"sqlite:///{tmp_path / 'cases.sqlite3'}", gateway.keys)
    try:
        for _ in range(FREE + 1):
            attempt = other.begin_sign_in(OTHER, "192.0.2.1", cases.SignInLimits(FREE, LOCKOUT), clock.now)
            other.finish_sign_in(attempt, False, clock.now)
    finally:
        other.close()
    assert await statuses(client, [(OTHER, "another long password 9", "192.0.2.2")] * 3) == [429] * 3
    assert calls.count(OTHER) == 1
    clock.now += LOCKOUT + 1  # both ended: the store decides again
    assert await statuses(client, [(OTHER, "another long password 9", "192.0.2.2")]) == [303]
    assert calls.count(OTHER) == 2


def test_lockouts_in_memory_end_and_are_bounded() -> None:
    lockouts = Lockouts(max_keys=3)
    lockouts.remember({"a": 100.0, "b": 0.0})
    assert (lockouts.wait(["a"], 40.0), lockouts.wait(["b"], 40.0), len(lockouts)) == (60.0, 0.0, 1)
    lockouts.remember({"a": 50.0})  # an older answer does not shorten what is known
    assert lockouts.wait(["x", "a"], 40.0) == 60.0
    assert lockouts.wait(["a"], 100.0) == 0.0 and len(lockouts) == 0, "an ended lockout is dropped"
    lockouts.remember({key: 200.0 for key in "pqrs"})
    assert len(lockouts) == 3 and lockouts.wait(["p"], 0.0) == 0.0, "the first remembered went first"
    lockouts.forget(["q", "nothing"])
    assert lockouts.wait(["q"], 0.0) == 0.0 and lockouts.wait(["r", "s"], 0.0) == 200.0


async def test_a_lockout_outlives_a_restart(tmp_path, fake_rasa, fake_api) -> None:
    settings = {**env(fake_api.url), "CONSOLE_SECURE_COOKIES": "false", "CONSOLE_SIGNIN_FREE_FAILURES": "1"}
    client = await start_console(tmp_path, fake_rasa.url, fake_api.url, **settings)
    try:
        assert await statuses(client, [(OPERATOR, WRONG_PASSWORD, "x")] * 2) == [401, 401]
    finally:
        await client.close()
    client = await serve(gateway_for(tmp_path, fake_rasa.url, **settings))  # the same case store
    try:
        assert (await login(client, OPERATOR, PASSWORD)).status == 429
    finally:
        await client.close()


# 4.4: a sign-in flood and the webhooks


async def test_password_hashing_leaves_the_database_thread_free(console, fake_rasa,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """40 wrong sign-ins at once while every password check is held: the webhooks go on (their
    messages reach Rasa through the inbox), and the checks that cannot wait are refused at once."""
    client, _ = await console(CONSOLE_SIGNIN_FREE_FAILURES="1000")
    held = threading.Event()
    started: list[str] = []

    def check(password: str, stored: str) -> bool:
        started.append(password)
        held.wait(30)
        return False

    monkeypatch.setattr(cases, "check_password", check)
    token = await login_token(client)
    burst = [asyncio.ensure_future(login(client, f"user{n}", WRONG_PASSWORD, token=token)) for n in range(40)]
    try:
        await until(lambda: len(started) >= 1, "a password check has started")
        # the burst is on (every admitted check is held), and the database thread is free
        gateway = gateway_of(client)
        assert await asyncio.wait_for(gateway.db(gateway.store.backlog), 10) == 0
        response = await client.post("/webhooks/telegram", data=update(800001, "are you there?"),
                                     headers={SECRET_HEADER: SECRET_TOKEN})
        assert response.status == 200
        await until(lambda: [m["message"] for m in fake_rasa.received] == ["are you there?"],
                    "the webhook's message reaches Rasa during the burst")
        await until(lambda: sum(task.done() for task in burst) >= 30,
                    "the checks that cannot be queued are refused at once")
        assert not all(task.done() for task in burst)
    finally:
        held.set()
    answers = [await task for task in burst]
    codes = sorted(answer.status for answer in answers)
    admitted = codes.count(401)
    assert set(codes) == {401, 429} and 1 <= admitted <= 10, codes
    assert len(started) == admitted
    refused = [answer for answer in answers if answer.status == 429]
    assert all(answer.headers["Retry-After"] == "1" for answer in refused)
    assert "busy" in await refused[0].text()
    await settle(client)


async def until(condition: Callable[[], bool] | Callable[[], Awaitable[bool]], what: str,
                timeout: float = 20.0) -> None:
    """Wait for ``condition`` (a bound on a wait for an event, not a measurement)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting: {what}")
        await asyncio.sleep(0.02)


# 4.8: cookie flags


async def test_cookies_are_secure_by_default(tmp_path, fake_rasa, fake_api) -> None:
    """No GATEWAY_PUBLIC_URL, no CONSOLE_SECURE_COOKIES: both cookies carry Secure (behind a TLS
    proxy that the gateway cannot see)."""
    client = await start_console(tmp_path, fake_rasa.url, fake_api.url)
    try:
        form, response = await login_by_hand(client, OPERATOR, PASSWORD)
        assert "; Secure" in form.headers["Set-Cookie"]
        assert response.status == 303
        (session,) = [c for c in response.headers.getall("Set-Cookie") if c.startswith(f"{COOKIE}=")]
        assert "; Secure" in session and "HttpOnly" in session and "SameSite=Strict" in session
    finally:
        await client.close()
