"""The private connection to Rasa's REST channel, against a fake Rasa on 127.0.0.1."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from channels.models import Button, Outbound
from channels.rasa import RasaUnavailable, converse, to_outbound


@pytest.fixture
async def rasa_answering() -> Any:
    """``await rasa_answering(status, body)`` -> the URL of a Rasa that always answers so."""
    servers: list[TestServer] = []
    received: list[Any] = []

    async def start(status: int, body: Any) -> str:
        async def handle(request: web.Request) -> web.Response:
            received.append(await request.json())
            return web.json_response(body, status=status)

        app = web.Application()
        app.router.add_post("/webhooks/rest/webhook", handle)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        return str(server.make_url("")).rstrip("/")

    start.received = received  # type: ignore[attr-defined]
    yield start
    for server in servers:
        await server.close()


async def test_converse_sends_the_pseudonym_and_returns_the_replies(rasa_answering) -> None:
    url = await rasa_answering(200, [{"text": "hello"}, "not a reply", {"custom": {"forget": True}}])
    async with aiohttp.ClientSession() as session:
        replies = await converse(session, url, "telegram-abc", "hi")
    assert replies == [{"text": "hello"}, {"custom": {"forget": True}}]
    assert rasa_answering.received == [{"sender": "telegram-abc", "message": "hi"}]


@pytest.mark.parametrize(("status", "body", "says"), [
    (503, {"error": "loading"}, "Rasa answered HTTP 503"),
    (200, {"not": "a list"}, "something other than a list"),
])
async def test_rasa_not_answering_properly_is_unavailable(rasa_answering, status: int, body: Any, says: str) -> None:
    url = await rasa_answering(status, body)
    async with aiohttp.ClientSession() as session:
        with pytest.raises(RasaUnavailable, match=says):
            await converse(session, url, "telegram-abc", "hi")


async def test_rasa_unreachable_is_unavailable() -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(RasaUnavailable, match=r"unreachable at http://127\.0\.0\.1:9: ClientConnectorError"):
            await converse(session, "http://127.0.0.1:9", "telegram-abc", "hi", timeout=5)


def test_to_outbound_keeps_text_and_buttons_and_drops_the_rest() -> None:
    replies = [{"text": "Article 21", "buttons": [{"title": "Yes", "payload": "/affirm"}, {"payload": "/no-title"},
                                                  "junk"]},
               {"custom": {"handoff": {"language": "en"}}}, {"image": "https://example.org/x.png"},
               {"buttons": [{"title": "Only a button", "payload": "/b"}]}]
    assert to_outbound(replies, "telegram", "42", {"k": "v"}) == [
        Outbound("telegram", "42", "Article 21", (Button("Yes", "/affirm"),), {"k": "v"}),
        Outbound("telegram", "42", "", (Button("Only a button", "/b"),), {"k": "v"})]
