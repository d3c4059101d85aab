"""The abuse run's side of HTTP: requests that never raise, raw bytes aiohttp would not send, and
clients for the two surfaces a person or an operator uses (the web chat and the console).

Every request gives a ``Reply``: the status (0 when the connection failed or the time ran out,
with the error's class name), the headers, the body and how long it took. Cookies are kept by
hand: the console's cookie is ``Secure`` and the run talks plain HTTP to 127.0.0.1, so a cookie
jar would rightly refuse to send it back.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from typing import Any

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy

SESSION_PATH = "/chat/api/session"
SESSION_HEADER = "X-Chat-Session"
MESSAGES_PATH = "/chat/api/messages"
LOGIN_PATH = "/console/login"
TAG = re.compile(r"<[^>]*>")
HEAD = re.compile(r"<head>.*?</head>|<nav\b.*?</nav>|<header\b.*?</header>", re.DOTALL | re.IGNORECASE)
HIDDEN_INPUT = re.compile(r"<input\b[^>]*\btype=\"hidden\"[^>]*>", re.IGNORECASE)
ATTRIBUTE = re.compile(r"\b(name|value)=\"([^\"]*)\"")


@dataclass
class Reply:
    status: int
    headers: CIMultiDictProxy[str] | CIMultiDict[str] = field(default_factory=CIMultiDict)
    body: bytes = b""
    ms: float = 0.0
    error: str = ""

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def excerpt(self, limit: int = 100) -> str:
        """The start of the answer; of an HTML page, its visible text."""
        if self.error:
            return self.error
        text = self.text
        if "html" in self.headers.get("Content-Type", ""):
            text = html.unescape(TAG.sub(" ", HEAD.sub(" ", text)))
        return " ".join(text.split())[:limit]


class Http:
    """One aiohttp client session for the whole run (no cookie jar, no automatic inflation)."""

    def __init__(self, limit: int = 200) -> None:
        self.session = aiohttp.ClientSession(
            cookie_jar=aiohttp.DummyCookieJar(), auto_decompress=False,
            connector=aiohttp.TCPConnector(limit=limit, force_close=False))

    async def close(self) -> None:
        await self.session.close()

    async def request(self, method: str, url: str, *, data: Any = None, json_body: Any = None,
                      headers: Mapping[str, str] | None = None, timeout: float = 30.0,
                      params: Mapping[str, str] | None = None) -> Reply:
        started = time.monotonic()
        try:
            async with self.session.request(method, url, data=data, json=json_body, headers=dict(headers or {}),
                                            params=params, allow_redirects=False,
                                            timeout=aiohttp.ClientTimeout(total=timeout)) as response:
                body = await response.read()
                return Reply(response.status, response.headers, body, (time.monotonic() - started) * 1000)
        except asyncio.TimeoutError:
            return Reply(0, ms=(time.monotonic() - started) * 1000, error="timeout")
        except (aiohttp.ClientError, OSError) as exc:
            return Reply(0, ms=(time.monotonic() - started) * 1000, error=exc.__class__.__name__)

    async def get(self, url: str, **kwargs: Any) -> Reply:
        return await self.request("GET", url, **kwargs)

    async def post(self, url: str, **kwargs: Any) -> Reply:
        return await self.request("POST", url, **kwargs)


async def raw(host: str, port: int, request: bytes, timeout: float = 10.0) -> Reply:
    """Send ``request`` byte for byte (a header aiohttp would re-encode, say) and read the answer.

    The answer is read while the request is still being written: a server may refuse a large body
    from its headers alone and stop reading, and a client that insisted on writing first would
    wait for ever."""
    started = time.monotonic()
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (OSError, asyncio.TimeoutError) as exc:
        return Reply(0, ms=(time.monotonic() - started) * 1000, error=exc.__class__.__name__)

    async def write() -> None:
        for offset in range(0, len(request), 64 * 1024):
            writer.write(request[offset:offset + 64 * 1024])
            await writer.drain()

    sending = asyncio.ensure_future(write())
    try:
        data = await asyncio.wait_for(reader.read(), timeout)
    except (OSError, asyncio.TimeoutError) as exc:
        return Reply(0, ms=(time.monotonic() - started) * 1000, error=exc.__class__.__name__)
    finally:
        sending.cancel()
        await asyncio.gather(sending, return_exceptions=True)
        writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2) if lines else []
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    headers: CIMultiDict[str] = CIMultiDict()
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.add(name.strip(), value.strip())
    if headers.get("Transfer-Encoding", "").lower() == "chunked":
        body = _unchunk(body)
    return Reply(status, headers, body, (time.monotonic() - started) * 1000, "" if status else "no HTTP answer")


def _unchunk(data: bytes) -> bytes:
    out = b""
    while data:
        size, _, rest = data.partition(b"\r\n")
        try:
            length = int(size.split(b";")[0], 16)
        except ValueError:
            return out + data
        if length == 0:
            break
        out += rest[:length]
        data = rest[length + 2:]
    return out


def raw_post(host: str, port: int, path: str, body: bytes, headers: list[tuple[bytes, bytes]],
             chunked: bool = False) -> bytes:
    """An HTTP/1.1 POST as bytes (with Content-Length, or chunked), the connection closed after the answer."""
    lines = [f"POST {path} HTTP/1.1".encode(), f"Host: {host}:{port}".encode(), b"Connection: close",
             b"Transfer-Encoding: chunked" if chunked else f"Content-Length: {len(body)}".encode()]
    lines += [name + b": " + value for name, value in headers]
    if chunked:
        size = 16 * 1024
        body = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + size]), body[i:i + size])
                        for i in range(0, len(body), size)) + b"0\r\n\r\n"
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


# the web chat


class WebChat:
    """A person at the web chat: a session from the server (or one of their own where the server
    does not issue them), then messages and polls."""

    def __init__(self, http: Http, base: str, forwarded_for: str | None = None) -> None:
        self.http = http
        self.base = base
        self.headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
        self.counter = 0

    async def session(self, timeout: float = 30.0) -> tuple[str | None, Reply]:
        """A new session: the server's, or a random one of ours if the server has no session endpoint.
        None (with the refusal) when the server refuses to issue one (a rate limit, say)."""
        reply = await self.http.post(self.base + SESSION_PATH, json_body={}, headers=self.headers, timeout=timeout)
        if reply.status in (404, 405):
            return secrets.token_urlsafe(24), reply
        data = reply.json()
        if reply.status == 200 and isinstance(data, dict) and isinstance(data.get("session"), str):
            return data["session"], reply
        return None, reply

    async def send(self, session: str, text: str | None = None, message_id: str | None = None,
                   headers: Mapping[str, str] | None = None, timeout: float = 30.0, **fields: Any) -> Reply:
        self.counter += 1
        body: dict[str, Any] = {"session": session, "id": message_id or f"m{self.counter}", "after": 0, **fields}
        if text is not None:
            body["text"] = text
        return await self.http.post(self.base + MESSAGES_PATH, data=json.dumps(body).encode(),
                                    headers={"Content-Type": "application/json", **self.headers, **(headers or {})},
                                    timeout=timeout)

    async def post_raw(self, body: bytes, content_type: str = "application/json",
                       headers: Mapping[str, str] | None = None) -> Reply:
        return await self.http.post(self.base + MESSAGES_PATH, data=body,
                                    headers={"Content-Type": content_type, **self.headers, **(headers or {})})

    async def poll(self, session: str, after: int = 0, headers: Mapping[str, str] | None = None) -> Reply:
        """The mailbox since ``after``: the session in a header (and, for a gateway that still reads
        it there, in the query string)."""
        return await self.http.get(self.base + MESSAGES_PATH, params={"session": session, "after": str(after)},
                                   headers={SESSION_HEADER: session, **self.headers, **(headers or {})})


# the operator console


def hidden_fields(page: str) -> dict[str, str]:
    """The hidden inputs of a page's forms (the CSRF token), by name."""
    found = {}
    for tag in HIDDEN_INPUT.findall(page):
        attributes = dict(ATTRIBUTE.findall(tag))
        if "name" in attributes:
            found[html.unescape(attributes["name"])] = html.unescape(attributes.get("value", ""))
    return found


class Console:
    """An operator's browser, reduced to what the probes need: cookies, forms and their tokens."""

    def __init__(self, http: Http, base: str, forwarded_for: str | None = None) -> None:
        self.http = http
        self.base = base
        self.cookies: dict[str, str] = {}
        self.set_cookie: dict[str, str] = {}  # the last Set-Cookie header for each cookie, as sent
        self.extra = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}

    def _headers(self, more: Mapping[str, str] | None = None) -> dict[str, str]:
        headers = dict(self.extra)
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        headers.update(more or {})
        return headers

    def _keep(self, reply: Reply) -> None:
        for value in reply.headers.getall("Set-Cookie", []):
            cookie: SimpleCookie = SimpleCookie()
            try:
                cookie.load(value)
            except CookieError:
                continue
            for name, morsel in cookie.items():
                self.set_cookie[name] = value
                if morsel.value in ("", '""') or morsel["max-age"] == "0":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value

    async def get(self, path: str, headers: Mapping[str, str] | None = None) -> Reply:
        reply = await self.http.get(self.base + path, headers=self._headers(headers))
        self._keep(reply)
        return reply

    async def post(self, path: str, fields: Mapping[str, str], headers: Mapping[str, str] | None = None,
                   timeout: float = 30.0) -> Reply:
        reply = await self.http.post(self.base + path, data=dict(fields), headers=self._headers(headers),
                                     timeout=timeout)
        self._keep(reply)
        return reply

    async def login(self, username: str, password: str, with_token: bool = True,
                    headers: Mapping[str, str] | None = None, timeout: float = 30.0) -> Reply:
        """Sign in as a browser does: fetch the form (its token and cookie), then post it back."""
        fields = {}
        if with_token:
            form = await self.get(LOGIN_PATH)
            if form.status == 303 and form.headers.get("Location") == "/console":  # already signed in
                self.cookies.clear()
                form = await self.get(LOGIN_PATH)
            fields = hidden_fields(form.text)
        fields.update(username=username, password=password)
        return await self.post(LOGIN_PATH, fields, headers, timeout=timeout)

    async def form_token(self, path: str) -> dict[str, str]:
        """The hidden fields of the page at ``path`` (a case page's CSRF token)."""
        return hidden_fields((await self.get(path)).text)
