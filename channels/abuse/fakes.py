"""The two services a gateway talks to, faked on 127.0.0.1 inside the abuse run's process.

``FakeRasa`` is Rasa's REST channel: it records every call (who, what, when it arrived) and
echoes the text back, so that a reply carries the marker of the message it answers. A few words
in a message make it answer as the action server would with a directive: HANDOFF opens a
hotline case (its summary, topic and transcript quote the message), FORGET asks for the person's
data to be deleted. It can be slow (``delay``), serialised (``serial``: one call at a time, as a
single Rasa worker; 45 ms each is about 22 messages a second) and killed and brought back: while
down it drops every connection unanswered, and a call it had already received when it was killed
is never answered, as when the real server dies mid-turn.

``FakePlatforms`` is every platform's send API at once (each channel's ``*_API_BASE`` points at
``<url>/<platform>``): it records each outgoing call's recipient and text and answers as the
platform does on success, after ``delay`` seconds.

Both are test doubles: the run never reaches a real Rasa or a real platform.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

HOST = "127.0.0.1"
# markup a stored-XSS probe looks for, raw, in the console's pages
MARKUP = ("<img src=x onerror=alert(1)>", "<script>alert(document.cookie)</script>")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Call:
    """One call received: Rasa's sender (a pseudonym) or a platform's recipient, and the text."""

    who: str
    text: str
    at: float  # time.monotonic() on arrival
    platform: str = ""


class _Server:
    """An aiohttp app on 127.0.0.1 that can stop and start again on the same port."""

    def __init__(self) -> None:
        self.port = 0
        self._runner: web.AppRunner | None = None

    def app(self) -> web.Application:
        raise NotImplementedError

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    async def start(self, port: int = 0) -> None:
        self.port = port or self.port or free_port()
        self._runner = web.AppRunner(self.app(), access_log=None, handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, HOST, self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


class FakeRasa(_Server):
    def __init__(self, delay: float = 0.0, serial: bool = False) -> None:
        super().__init__()
        self.delay = delay
        self.serial = serial
        self.calls: list[Call] = []
        self.down = False
        self._lives = 0  # a kill starts a new life; an answer from an earlier life is never sent
        self._one_at_a_time = asyncio.Lock()

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/webhooks/rest/webhook", self.handle)
        return app

    def kill(self) -> None:
        """Die now: calls in progress and every call until ``revive`` go unanswered."""
        self.down = True
        self._lives += 1

    def revive(self) -> None:
        self.down = False

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if self.down:
            return _hang_up(request)
        life = self._lives
        try:
            data = await request.json()
            sender, text = str(data["sender"]), str(data["message"])
        except (ValueError, KeyError, TypeError):
            return web.json_response({"error": "not a REST channel message"}, status=400)
        self.calls.append(Call(sender, text, time.monotonic()))
        if self.serial:
            async with self._one_at_a_time:
                await asyncio.sleep(self.delay)
        elif self.delay:
            await asyncio.sleep(self.delay)
        if life != self._lives:
            return _hang_up(request)
        return web.json_response(answer(sender, text))

    # what the run asks of the record

    def count(self, marker: str) -> int:
        return sum(marker in call.text for call in self.calls)

    async def wait_for(self, markers: Iterable[str], timeout: float) -> bool:
        """Wait until every marker has arrived at least once (False when ``timeout`` ran out).

        Each call is looked at once: the run's own process serves this fake, so a wait must not
        take the CPU it needs to answer."""
        missing = set(markers)
        deadline = time.monotonic() + timeout
        checked = 0
        while True:
            for call in self.calls[checked:]:
                missing = {m for m in missing if m not in call.text}
            checked = len(self.calls)
            if not missing:
                return True
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.05)


def answer(sender: str, text: str) -> list[dict[str, Any]]:
    """Rasa's replies to ``text``: an echo, and a directive when the text asks for one.

    A handoff's summary and transcript quote the person (as the action server's do); its topic and
    citations come from the knowledge base there, so here they are fixed, and carry markup for the
    console's escaping to deal with."""
    replies: list[dict[str, Any]] = [{"recipient_id": sender, "text": f"echo: {text}"}]
    if "HANDOFF" in text:
        replies.append({"recipient_id": sender, "custom": {"handoff": {
            "language": "en", "category": "abuse-run", "urgency": 5, "topic": f"wages {MARKUP[0]}",
            "citations": ["icrmw:art25", MARKUP[1]], "summary": text, "transcript": [["person", text, time.time()]]}}})
    if "FORGET" in text:
        replies.append({"recipient_id": sender, "custom": {"forget": True}})
    if "BUTTONS" in text:
        replies.append({"recipient_id": sender, "text": "choose",
                        "buttons": [{"title": "<img src=x onerror=alert(1)>", "payload": "/affirm"},
                                    {"title": "No", "payload": "/deny"}]})
    return replies


def _hang_up(request: web.Request) -> web.StreamResponse:
    """Close the connection without an answer, as a process that died would."""
    if request.transport is not None:
        request.transport.abort()
    raise asyncio.CancelledError


# What each platform answers to a successful send (only what the channel reads matters).
SUCCESS: dict[str, tuple[int, Any]] = {
    "whatsapp": (200, {"messaging_product": "whatsapp", "messages": [{"id": "wamid.sent"}]}),
    "messenger": (200, {"recipient_id": "1", "message_id": "m_sent"}),
    "telegram": (200, {"ok": True, "result": {"message_id": 1}}),
    "twilio": (201, {"sid": "SM" + "0" * 32, "status": "queued"}),
    "viber": (200, {"status": 0, "status_message": "ok", "message_token": 1}),
}


class FakePlatforms(_Server):
    def __init__(self, delay: float = 0.0) -> None:
        super().__init__()
        self.delay = delay
        self.sent: list[Call] = []

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/{platform}/{tail:.*}", self.handle)
        return app

    async def handle(self, request: web.Request) -> web.StreamResponse:
        platform = request.match_info["platform"]
        if platform not in SUCCESS:
            return web.json_response({"error": "unknown platform"}, status=404)
        body = await request.read()
        who, text = recipient_and_text(platform, body)
        self.sent.append(Call(who, text, time.monotonic(), platform))
        if self.delay:
            await asyncio.sleep(self.delay)
        status, data = SUCCESS[platform]
        return web.json_response(data, status=status)

    def count(self, marker: str) -> int:
        return sum(marker in call.text for call in self.sent)


def recipient_and_text(platform: str, body: bytes) -> tuple[str, str]:
    """Who a send API call goes to and the text it shows (an interactive message's body text)."""
    if platform == "twilio":
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        return form.get("To", ""), form.get("Body", "")
    try:
        data = json.loads(body)
    except ValueError:
        return "", ""
    if not isinstance(data, dict):
        return "", ""
    if platform == "whatsapp":
        text = (data.get("text") or {}).get("body") or ((data.get("interactive") or {}).get("body") or {}).get("text")
        return str(data.get("to", "")), str(text or "")
    if platform == "messenger":
        return str((data.get("recipient") or {}).get("id", "")), str((data.get("message") or {}).get("text", ""))
    if platform == "telegram":
        return str(data.get("chat_id", "")), str(data.get("text", ""))
    return str(data.get("receiver", "")), str(data.get("text", ""))  # viber
