"""The web chat as a person uses it: the page in headless Chromium (Debian's) and the real gateway;
here the session and limit handling with the fake Rasa of tests/channels/conftest.py. The same page
with the real assistant (Rasa and the action server) is tests/bot/test_webchat_browser.py, which
runs where Rasa is installed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from channels.app import QuietAccessLogger, build_app
from channels.gateway import Gateway
from channels.keys import Secret
from channels.webchat.channel import Sessions
from tests.channels.conftest import SECRET, FakeRasa, gateway_for

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is missing: `apt-get install chromium` (Playwright's own download does not work "
                "here)", allow_module_level=True)
playwright = pytest.importorskip("playwright.async_api", reason="playwright is missing: pip install -e '.[dev]'")

WARM_UP = 300.0  # s
ANSWER_WAIT = 60_000  # ms; the real assistant answers in a second or two once it is warm
EN_QUESTION = "My employer took my passport and won't give it back. Is that allowed?"
ES_QUESTION = "¿Me pueden negar la atención de urgencia en el hospital por no tener papeles?"
AR_QUESTION = "صاحب العمل أخذ جواز سفري ولا يريد إرجاعه، هل هذا مسموح؟"


@asynccontextmanager
async def serving(gateway: Gateway) -> AsyncIterator[tuple[str, Gateway]]:
    server = TestServer(build_app(gateway), host="127.0.0.1")
    await server.start_server(access_log_class=QuietAccessLogger)
    try:
        yield str(server.make_url("/chat")), gateway
    finally:
        await server.close()


@asynccontextmanager
async def phone(url: str, expected: tuple[str, ...] = (), locale: str = "en-GB") -> AsyncIterator[Any]:
    """A small touch phone's browser on the chat page; fails the test on any script or CSP error
    (other than the ``expected`` ones: Chromium logs a refused request as an error)."""
    problems: list[str] = []
    async with playwright.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True)
        context = await browser.new_context(locale=locale, viewport={"width": 360, "height": 640},
                                            is_mobile=True, has_touch=True)
        tab = await context.new_page()
        tab.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
        tab.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
        await tab.goto(url)
        yield tab
        await browser.close()
    unexpected = [p for p in problems if not any(e in p for e in expected)]
    assert unexpected == [], "the page logged errors (a CSP violation shows here)"


async def ask(page: Any, text: str) -> None:
    await page.fill("#text", text)
    await page.tap("#send")
    await playwright.expect(page.locator(".msg.me").last).to_have_text(text)


def bot(page: Any, text: str) -> Any:
    return page.locator(".msg.bot").filter(has_text=text).last


async def test_the_session_comes_from_the_server_and_stays_out_of_urls(fake_rasa: FakeRasa, tmp_path: Path) -> None:
    """The page asks for a session before its first message, replaces one the server does not
    know (what an older page made up), polls with it in a header, and says so when it must wait."""
    expect = playwright.expect
    gateway = gateway_for(tmp_path, fake_rasa.url, WEBCHAT_ENABLED="true", WEBCHAT_SESSION_BURST="2",
                          WEBCHAT_SESSION_RATE="0.000001")
    made_up = "k3J9sPq2Xw7LmN4vB8cR1tYzk3J9sPq2"  # an older page's own, from crypto.getRandomValues
    async with serving(gateway) as (url, _), phone(url, expected=("status of 401", "status of 429")) as tab:
        await tab.evaluate(f"localStorage.setItem('rc.session', '{made_up}')")
        await tab.reload()
        urls: list[str] = []
        tab.on("request", lambda request: urls.append(request.url))

        await ask(tab, "hello")
        await expect(bot(tab, "reply 1")).to_be_visible(timeout=15_000)
        session = await tab.evaluate("localStorage.getItem('rc.session')")
        assert session != made_up and Sessions(Secret(SECRET)).issued(session)
        assert [m["sender"] for m in fake_rasa.received] == [gateway.keys.pseudonym("webchat", session)]

        async with tab.expect_request(lambda r: r.method == "GET" and "/chat/api/messages" in r.url,
                                      timeout=15_000) as polled:
            pass
        request = await polled.value
        assert request.headers["x-chat-session"] == session
        assert not [u for u in urls if session in u or made_up in u], "no session in any URL"

        await ask(tab, "and my pay?")
        await expect(bot(tab, "reply 2")).to_be_visible(timeout=15_000)
        await tab.fill("#text", "one more")
        await tab.tap("#send")
        await expect(tab.locator("#error")).to_contain_text("wait a moment", timeout=15_000)
        assert await tab.input_value("#text") == "one more", "nothing typed is lost"
        assert len(fake_rasa.received) == 2
