"""The web chat with the real assistant: the page in headless Chromium (Debian's), the real gateway
in this process, and Rasa and the action server on 127.0.0.1 (tests/conftest.py). It needs Rasa and
the knowledge core beside the gateway, so it runs in the assistant's environment, not the
gateway's (tests/channels runs there)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from channels.gateway import Gateway
from tests.channels.conftest import gateway_for
from tests.channels.webchat.test_browser import (
    ANSWER_WAIT,
    AR_QUESTION,
    EN_QUESTION,
    ES_QUESTION,
    WARM_UP,
    ask,
    bot,
    phone,
    playwright,
    serving,
)

pytestmark = pytest.mark.slow


@pytest.fixture
async def chat(running: Any, tmp_path: Path) -> AsyncIterator[tuple[str, Gateway]]:
    """The real gateway, serving the web chat and talking to the real Rasa server."""
    from bot import runtime

    # The first message after the servers start loads the models (a minute on a busy machine);
    # send it here so that the page's questions are timed as a person would meet them.
    await asyncio.to_thread(runtime.send, running, "webchat-browser-warm-up", "hello", WARM_UP)
    async with serving(gateway_for(tmp_path, f"http://127.0.0.1:{running.rasa}", WEBCHAT_ENABLED="true")) as served:
        yield served


@pytest.fixture
async def page(chat: tuple[str, Gateway]) -> AsyncIterator[Any]:
    async with phone(chat[0], expected=("net::ERR_INTERNET_DISCONNECTED",)) as tab:  # the offline test's
        yield tab


async def test_questions_in_two_languages_and_a_button(page: Any, chat: tuple[str, Gateway], tmp_path: Path) -> None:
    expect = playwright.expect
    await expect(page.locator("footer")).to_contain_text("not legal advice")

    await ask(page, EN_QUESTION)
    english = bot(page, "Convention, art. 21")
    await expect(english).to_be_visible(timeout=ANSWER_WAIT)
    await expect(page.locator("#typing")).to_be_hidden()
    assert await page.input_value("#text") == ""
    assert await english.evaluate("el => el.matches(':dir(ltr)')")

    await ask(page, ES_QUESTION)
    await expect(bot(page, "Convención, art. 28")).to_be_visible(timeout=ANSWER_WAIT)
    feedback = bot(page, "¿Le sirvió esta respuesta?")
    await expect(feedback).to_be_visible()
    yes = feedback.get_by_role("button", name="Sí")
    box = await yes.bounding_box()
    assert box is not None and box["height"] >= 44 and box["width"] >= 44, "touch targets are finger-sized"

    answers = await page.locator(".msg.bot").count()
    await yes.tap()
    await expect(page.locator(".msg.me").last).to_have_text("Sí")  # the title, not the payload
    await expect(page.locator(".msg.bot")).to_have_count(answers + 1, timeout=ANSWER_WAIT)
    await expect(page.locator(".msg.bot").last).to_contain_text("Gracias")
    await expect(yes).to_be_disabled()

    await ask(page, AR_QUESTION)
    arabic = bot(page, "الاتفاقية، المادة 21")
    await expect(arabic).to_be_visible(timeout=ANSWER_WAIT)
    assert await arabic.evaluate("el => el.matches(':dir(rtl)')"), "Arabic bubbles read right to left"
    await page.screenshot(path=str(tmp_path / "webchat.png"), full_page=True)


async def test_network_failure_keeps_the_text_and_polling_brings_later_messages(
    page: Any, chat: tuple[str, Gateway],
) -> None:
    expect = playwright.expect
    _, gateway = chat
    await page.context.set_offline(True)
    await page.fill("#text", EN_QUESTION)
    await page.tap("#send")
    await expect(page.locator("#error")).to_be_visible(timeout=ANSWER_WAIT)
    assert await page.input_value("#text") == EN_QUESTION, "nothing typed is lost"
    assert await page.locator(".msg.me").count() == 0

    await page.context.set_offline(False)
    await page.tap("#send")
    await expect(bot(page, "Convention, art. 21")).to_be_visible(timeout=ANSWER_WAIT)
    await expect(page.locator("#error")).to_be_hidden()

    # a message written later (an operator's, say) appears without the person doing anything
    session = await page.evaluate("localStorage.getItem('rc.session')")
    conversation = gateway.keys.pseudonym("webchat", session)
    note = gateway.keys.seal({"text": "An adviser from the helpline will write to you here.", "buttons": []})
    await gateway.db(gateway.store.complete_inbox, None, [], [(conversation, note)], gateway.clock())
    await expect(bot(page, "An adviser from the helpline")).to_be_visible(timeout=15_000)


@pytest.mark.parametrize("lang,locale,footer,direction,question,citation", [
    ("ne", "ne-NP", "कानुनी सल्लाह होइन", "ltr", "साहुले मेरो पासपोर्ट राखेर फिर्ता दिँदैन, यो ठिक हो?", "महासन्धि, धारा 21"),
    ("ur", "ur-PK", "قانونی مشورہ نہیں", "rtl", "کفیل نے میرا پاسپورٹ رکھ لیا ہے اور واپس نہیں دے رہا، کیا یہ ٹھیک ہے؟",
     "کنونشن، آرٹیکل 21"),
])
async def test_a_phone_gets_the_page_and_the_answer_in_its_language_and_direction(
    chat: tuple[str, Gateway], tmp_path: Path, lang: str, locale: str, footer: str, direction: str, question: str,
    citation: str,
) -> None:
    expect = playwright.expect
    async with phone(chat[0], locale=locale) as page:
        await expect(page.locator("footer")).to_contain_text(footer)
        assert await page.evaluate("document.documentElement.dir") == direction
        await ask(page, question)
        answer = bot(page, citation)
        await expect(answer).to_be_visible(timeout=ANSWER_WAIT)
        assert await answer.evaluate(f"el => el.matches(':dir({direction})')"), f"{lang} bubbles read {direction}"
        await page.screenshot(path=str(tmp_path / f"webchat-{lang}.png"), full_page=True)
