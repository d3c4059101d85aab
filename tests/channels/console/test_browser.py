"""The operator console in a real headless Chromium (Debian's, driven by Playwright): what an operator
does on a shift, with the real gateway behind it and the fake Telegram Bot API on the person's side."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from channels import cases
from tests.channels.conftest import gateway_of, settle
from tests.channels.console.test_routes import (
    NOTE,
    OPERATOR,
    PASSWORD,
    REPLY,
    WRONG_PASSWORD,
    conversation_of_user,
    open_case,
    person_writes,
    start_console,
)
from tests.channels.platforms.test_telegram import TOKEN, USER

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(autouse=True)
def quick_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(cases.SCRYPT, "n", 2**10)


@pytest.fixture
async def browser() -> Any:
    found = str(CHROMIUM) if CHROMIUM.exists() else shutil.which("chromium")
    if found is None:
        pytest.skip(f"needs Debian's Chromium at {CHROMIUM} (apt-get install chromium)")
    async_api = pytest.importorskip("playwright.async_api", reason="needs Playwright (pip install playwright)")
    async with async_api.async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=found, headless=True)
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
async def client(tmp_path, fake_rasa, fake_api) -> Any:
    started: TestClient = await start_console(tmp_path, fake_rasa.url, fake_api.url)
    yield started
    await started.close()


async def test_a_shift_sign_in_claim_reply_close(browser, client, fake_api, fake_rasa) -> None:
    await person_writes(client, 900001, "my employer locked me in the house")
    urgent = await open_case(client, conversation_of_user(client), "locked_in", ago=120)
    older = await open_case(client, "telegram-someone-else", "documents", ago=5400)
    base = str(client.make_url("")).rstrip("/")
    page = await browser.new_page()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    failed: list[tuple[int, str]] = []
    page.on("response", lambda r: failed.append((r.status, r.url.removeprefix(base))) if r.status >= 400 else None)

    # signed out: to the form; a wrong password is refused
    await page.goto(f"{base}/console")
    assert page.url == f"{base}/console/login"
    await page.fill("#username", OPERATOR)
    await page.fill("#password", WRONG_PASSWORD)
    async with page.expect_response(f"{base}/console/login") as answer:
        await page.click("form.login button")
    assert (await answer.value).status == 401
    assert await page.inner_text(".alert") == "wrong username or password"

    await page.fill("#password", PASSWORD)
    await page.click("form.login button")
    await page.wait_for_url(f"{base}/console")
    assert OPERATOR in await page.inner_text("header")
    # Secure by default (CONSOLE_SECURE_COOKIES): a browser keeps and sends it on http://127.0.0.1 too
    session = {c["name"]: c for c in await page.context.cookies()}["rights_console"]
    assert session["secure"] and session["httpOnly"] and session["sameSite"] == "Strict"
    # the stylesheet loaded under the CSP (the header is coloured by it)
    assert await page.eval_on_selector("header", "h => getComputedStyle(h).backgroundColor") == "rgb(17, 75, 115)"

    # the most urgent case is first; open it and claim it
    links = await page.eval_on_selector_all("table.queue tbody a", "as => as.map(a => a.textContent)")
    assert links == [f"Case {urgent}", f"Case {older}"]
    await page.click("table.queue tbody tr:first-child a")
    await page.wait_for_url(f"{base}/console/cases/{urgent}")
    assert "my employer took my passport" in await page.inner_text("ol.transcript")
    await page.click("form.claim button")
    await page.wait_for_url(f"{base}/console/cases/{urgent}")
    assert "claimed by you" in await page.inner_text("dl.facts")

    # reply: it reaches the person through Telegram, exactly
    await page.fill("#reply", REPLY)
    await page.click("form.reply button")
    await page.wait_for_selector("li.msg-operator")
    sent = (await fake_api.wait_for(2))[1]
    assert sent.path == f"/bot{TOKEN}/sendMessage"
    assert sent.json() == {"chat_id": int(USER), "text": REPLY}
    assert REPLY in await page.inner_text("li.msg-operator")

    # a form whose CSRF field was removed is refused, and nothing is recorded
    await page.fill("#note", NOTE)
    await page.evaluate("document.querySelector('form.note input[name=csrf]').remove()")
    async with page.expect_response(f"{base}/console/cases/{urgent}/note") as answer:
        await page.click("form.note button")
    assert (await answer.value).status == 403
    assert "Nothing was done" in await page.inner_text("main")
    gateway = gateway_of(client)
    assert NOTE not in [m.text for m in await gateway.db(gateway.cases.messages, urgent)]

    # close it: back to the queue, where it is gone
    await page.goto(f"{base}/console/cases/{urgent}")
    await page.click("form.close button")
    await page.wait_for_url(f"{base}/console")
    links = await page.eval_on_selector_all("table.queue tbody a", "as => as.map(a => a.textContent)")
    assert links == [f"Case {older}"]
    assert (await gateway.db(gateway.cases.get, urgent)).status == "closed"
    log = await gateway.db(gateway.cases.audit_log, 10)
    assert [row["action"] for row in reversed(log)] == ["sign_in", "claim", "reply", "close"]

    await settle(client)
    assert len(fake_api.requests) == 2 and len(fake_rasa.received) == 1
    # the only failures are the two refusals (and the browser's own look for a site icon); no CSP
    # violation, no script error
    assert [f for f in failed if f[1] != "/favicon.ico"] == [(401, "/console/login"),
                                                             (403, f"/console/cases/{urgent}/note")]
    # (the icon request is the browser's own and reaches no page event, only this console line)
    unexpected = [p for p in problems if not p.startswith("Failed to load resource: the server responded")]
    assert unexpected == [], unexpected
