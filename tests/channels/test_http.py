"""The public door before any route (channels/http.py): compressed bodies refused unread on every
route, and requests aiohttp's parser refuses logged in one line, without a traceback or their bytes."""

from __future__ import annotations

import gc
import json
import logging
import tracemalloc
import zlib

import pytest

from tests.channels.conftest import gateway_of, send_raw, settle
from tests.channels.platforms.test_telegram import PATH, SECRET_TOKEN, env, sign
from tests.channels.test_gateway import update


def gzipped_zeros(megabytes: int) -> bytes:
    """A gzip bomb: ``megabytes`` MB of zeros in about a thousandth of that."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    return b"".join(packer.compress(b"0" * (1 << 20)) for _ in range(megabytes)) + packer.flush()


@pytest.mark.parametrize(("path", "content_type"), [
    (PATH, "application/json"),
    ("/chat/api/messages", "application/json"),
    ("/console/login", "application/x-www-form-urlencoded"),
])
async def test_a_gzip_bomb_is_refused_before_anything_reads_it(started, fake_api, fake_rasa, caplog, path,
                                                               content_type) -> None:
    caplog.set_level(logging.INFO)
    client = await started({**env(fake_api.url), "WEBCHAT_ENABLED": "true"})
    bomb = gzipped_zeros(50)
    assert len(bomb) < 60_000
    caplog.clear()
    response = await client.post(path, data=bomb, headers={
        "Content-Encoding": "gzip", "Content-Type": content_type, **sign(b"", "valid")})
    assert response.status == 415
    assert response.headers["Accept-Encoding"] == "identity"
    assert "Content-Encoding" in (await response.json())["error"]
    await settle(client)
    gateway = gateway_of(client)
    assert (await gateway.db(gateway.store.stats)).inbox_pending == 0 and fake_rasa.received == []
    # the route never ran: it logs its own rejection, a sign-in attempt or an accepted message
    assert events(caplog) == ["request_refused", "http"]


def events(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [json.loads(r.getMessage())["event"] for r in caplog.records if r.name == "channels"]


async def test_nothing_inflates_a_compressed_body(started, fake_api, fake_rasa) -> None:
    """aiohttp before 3.13.3 inflates a gzip body as it arrives, before any size check: with the
    parser's decompression off, four 250 MB bombs never become 250 MB in the process."""
    client = await started(env(fake_api.url))
    bomb = gzipped_zeros(250)
    gc.collect()
    tracemalloc.start()
    try:
        for _ in range(4):
            response = await client.post(PATH, data=bomb, headers={"Content-Encoding": "gzip", **sign(b"", "valid")})
            assert response.status == 415
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 32 * 2**20, f"{peak / 2**20:.0f} MB allocated while refusing 4 compressed bodies"
    assert fake_rasa.received == []


@pytest.mark.parametrize(("encoding", "status"), [
    ("identity", 200), ("Identity", 200), ("", 200), ("deflate", 415), ("br", 415), ("x-gzip", 415),
    ("identity, gzip", 415), ("zstd", 415),
])
async def test_only_identity_passes(started, fake_api, fake_rasa, encoding, status) -> None:
    client = await started(env(fake_api.url))
    body = update(len(encoding) + 100 * status, "hello")
    response = await client.post(PATH, data=body, headers={"Content-Encoding": encoding, **sign(b"", "valid")})
    assert response.status == status
    await settle(client)
    assert len(fake_rasa.received) == (1 if status == 200 else 0)


@pytest.mark.parametrize(("coding", "status"), [("chunked", 200), ("gzip, chunked", 415), ("deflate, chunked", 415)])
async def test_a_transfer_coding_other_than_chunked_is_refused(started, fake_api, fake_rasa, coding, status) -> None:
    client = await started(env(fake_api.url))
    body = update(len(coding), "hello")
    sent = f"{len(body):x}".encode() + b"\r\n" + body + b"\r\n0\r\n\r\n"
    headers = {"Transfer-Encoding": coding, "Content-Type": "application/json", **sign(b"", "valid")}
    status_got, _ = await send_raw(client, "POST", PATH, headers, sent, length=False)
    assert status_got == status
    await settle(client)
    assert len(fake_rasa.received) == (1 if status == 200 else 0)


async def test_every_route_refuses_a_compressed_body(started, fake_api) -> None:
    """Whatever registers a route later gets the refusal too: it sits before every handler."""
    client = await started({**env(fake_api.url), "WEBCHAT_ENABLED": "true"})
    for route in client.server.app.router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        if "{" in path or route.method == "HEAD":
            continue
        status, _ = await send_raw(client, route.method, path, {"Content-Encoding": "gzip"}, gzipped_zeros(1))
        assert status == 415, f"{route.method} {path}: {status}"


async def test_a_request_the_parser_refuses_is_one_quiet_line(started, fake_api, caplog) -> None:
    """aiohttp 3.9 logs such a 400 as an error with a traceback that quotes the request's bytes
    (a query string can hold Meta's verify token)."""
    caplog.set_level(logging.DEBUG)
    client = await started(env(fake_api.url))
    status, _ = await send_raw(client, "POST", PATH, {"Content-Length": "abc", SECRET_HEADER_NAME: SECRET_TOKEN})
    assert status == 400
    status, _ = await send_raw(client, "GET", "/webhooks/telegram?hub.verify_token=tok\xffen".encode(
        "latin-1").decode("utf-8", "surrogateescape"), {})
    assert status == 400
    assert "Traceback" not in caplog.text and not any(r.exc_info for r in caplog.records)
    assert SECRET_TOKEN not in caplog.text and "tok" not in caplog.text and "abc" not in caplog.text
    refused = [r.getMessage() for r in caplog.records if '"http_refused"' in r.getMessage()]
    assert len(refused) == 2 and all(r.levelno == logging.WARNING for r in caplog.records
                                     if '"http_refused"' in r.getMessage())


SECRET_HEADER_NAME = "X-Telegram-Bot-Api-Secret-Token"


ODD_HEADERS = [
    {"Host": b"hotline\xff.example.org"}, {"Origin": b"https://\xff\xfe"}, {"Content-Type": b"application/json\xff"},
    {"Content-Type": "application/x-www-form-urlencoded; charset=bogus"}, {"Cookie": b"rights_console=\"\xff\xfe\""},
    {"Authorization": b"Bearer \xff"}, {"Sec-Fetch-Site": b"\xff"}, {"X-Forwarded-For": b"\xff, 1.2.3.4"},
    {"If-None-Match": b"\"\xff\""}, {"Content-Encoding": b"\xff"}, {"Accept-Language": b"\xff"},
]


@pytest.mark.parametrize("odd", range(len(ODD_HEADERS)))
async def test_no_odd_header_makes_any_route_fail(started, fake_api, caplog, odd) -> None:
    """Every route, asked with a header holding bytes that are not UTF-8 (or an unknown charset):
    an answer, never a 500 and never a traceback in the log."""
    caplog.set_level(logging.INFO)
    client = await started({**env(fake_api.url), "WEBCHAT_ENABLED": "true", "GATEWAY_TRUST_PROXY": "true"})
    statuses = {}
    for route in client.server.app.router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        if "{" in path or route.method == "HEAD":
            continue
        statuses[f"{route.method} {path}"], _ = await send_raw(client, route.method, path, ODD_HEADERS[odd], b"x=1")
    assert {route: status for route, status in statuses.items() if status >= 500} == {}
    assert "Traceback" not in caplog.text
