"""Section 3: the web chat, which anyone may use without a credential."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections import Counter

from channels.abuse.client import Reply
from channels.abuse.lab import Lab
from channels.abuse.probes.common import (
    XSS,
    Rows,
    client_error,
)
from channels.abuse.report import RISK, Row
from channels.abuse.signing import PUBLIC_URL


async def webchat_page_headers(lab: Lab) -> list[Row]:
    rows, t = Rows("3.1"), await lab.target("main")
    reply = await lab.http.get(t.url + "/chat")
    csp = reply.headers.get("Content-Security-Policy", "")
    wanted = {"script-src by hash": "script-src 'sha256-" in csp and "unsafe-inline" not in csp,
              "frame-ancestors 'none'": "frame-ancestors 'none'" in csp,
              "X-Frame-Options DENY": reply.headers.get("X-Frame-Options") == "DENY",
              "nosniff": reply.headers.get("X-Content-Type-Options") == "nosniff",
              "no-referrer": reply.headers.get("Referrer-Policy") == "no-referrer"}
    missing = [name for name, ok in wanted.items() if not ok]
    rows.add("GET /chat: security headers", "GET /chat", reply, "missing: " + ", ".join(missing) if missing else
             "all present", reply.status == 200 and not missing)
    return rows.rows


SINKS = ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function")


async def webchat_xss(lab: Lab) -> list[Row]:
    rows, t = Rows("3.2"), await lab.target("main")
    chat = lab.webchat(t)
    session, _ = await chat.session()
    marker = lab.marker("xss")
    reply = await chat.send(session or "", f"{marker} {XSS[0]} {XSS[1]} BUTTONS")
    lab.accepted.add(marker)
    kind = reply.headers.get("Content-Type", "")
    rows.add("webchat: markup in a message, echoed back by the bot", "<img onerror> <script>", reply,
             f"Content-Type {kind}; nosniff={reply.headers.get('X-Content-Type-Options', 'absent')}",
             reply.status == 200 and kind.startswith("application/json")
             and reply.headers.get("X-Content-Type-Options") == "nosniff")
    page = (await lab.http.get(t.url + "/chat")).text
    found = {sink: page.count(sink) for sink in SINKS if sink in page}
    rows.add("web chat page: HTML sinks in its script", "GET /chat", 200, json.dumps(found) if found else "none",
             not found, "text shown as text nodes only")
    return rows.rows


async def webchat_cors(lab: Lab) -> list[Row]:
    rows, t = Rows("3.3"), await lab.target("main")
    reply = await lab.http.request("OPTIONS", t.url + "/chat/api/messages", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    allowed = [h for h in reply.headers if h.lower().startswith("access-control-")]
    rows.add("CORS preflight from another origin", "OPTIONS, Origin: evil", reply,
             ", ".join(allowed) or "no Access-Control-* headers", not allowed)
    chat = lab.webchat(t)
    session, _ = await chat.session()
    reply = await chat.poll(session or "", headers={"Origin": "https://evil.example"})
    allowed = [h for h in reply.headers if h.lower().startswith("access-control-")]
    rows.add("cross-origin read of a mailbox", "GET, Origin: evil", reply,
             ", ".join(allowed) or "no Access-Control-* headers", not allowed)
    return rows.rows


async def webchat_cross_origin(lab: Lab) -> list[Row]:
    rows, t = Rows("3.4"), await lab.target("main")
    chat = lab.webchat(t)
    session, _ = await chat.session()
    marker = lab.marker("crossorigin")
    for label, headers in (("Origin: https://evil.example", {"Origin": "https://evil.example"}),
                           ("Origin: null", {"Origin": "null"}),
                           ("Sec-Fetch-Site: cross-site, no Origin", {"Sec-Fetch-Site": "cross-site"}),
                           ("Origin with the host as a prefix of another", {"Origin": f"{t.url}.evil.example"})):
        reply = await chat.send(session or "", marker, headers=headers)
        rows.add(f"webchat POST, {label}", label, reply, reply.excerpt(), reply.status == 403)
    lab.refused.add(marker)
    for label, origin in (("Origin: the public URL", PUBLIC_URL), ("Origin: matching Host", t.url)):
        good = lab.marker("sameorigin")
        reply = await chat.send(session or "", good, headers={"Origin": origin})
        lab.accepted.add(good)
        rows.add(f"webchat POST, {label} (sanity)", label, reply, reply.excerpt(), reply.status == 200)
    return rows.rows


async def guessed_sessions(lab: Lab) -> list[Row]:
    rows, t = Rows("3.5"), await lab.target("main")
    chat = lab.webchat(t)
    session, _ = await chat.session()
    marker = lab.marker("mine")
    await chat.send(session or "", marker)
    lab.accepted.add(marker)
    own = await chat.poll(session or "")
    mine = len((own.json() or {}).get("messages", [])) if isinstance(own.json(), dict) else 0
    rows.add("sanity: a session reads its own mailbox", "GET own session", own, f"{mine} messages", mine >= 1)
    real = session or "x" * 32
    guesses = [real[:-1] + ("A" if real[-1] != "A" else "B"), "a" * 16, "0" * 16, "A" * 32, "test" * 4,
               "abcdefghijklmnop", "0123456789abcdef", real[::-1]]
    guesses += [secrets.token_urlsafe(24) for _ in range(max(0, lab.profile.guesses - len(guesses)))]
    hits = 0
    statuses: Counter[int] = Counter()
    for guess in guesses:
        reply = await chat.poll(guess)
        statuses[reply.status] += 1
        data = reply.json()
        hits += reply.status == 200 and isinstance(data, dict) and bool(data.get("messages"))
    rows.add(f"read another person's mailbox: {len(guesses)} guessed sessions", "neighbour, patterns, random",
             json.dumps(dict(statuses)), f"{hits} mailboxes read", hits == 0)
    return rows.rows


async def weak_client_session(lab: Lab) -> list[Row]:
    rows, t = Rows("3.6"), await lab.target("main")
    chat = lab.webchat(t)
    marker = lab.marker("weak")
    reply = await chat.send("a" * 16, marker)
    if reply.status == 200:
        lab.accepted.add(marker)
    else:
        lab.refused.add(marker)
    rows.add("a session the client chose, and weak ('a' × 16)", "session=aaaaaaaaaaaaaaaa", reply, reply.excerpt(),
             client_error(reply), "sessions should come from the server", failing=RISK)
    return rows.rows


async def webchat_rate_limits(lab: Lab) -> list[Row]:
    rows, t = Rows("3.7"), await lab.target("limits")
    n = lab.profile.burst
    chat = lab.webchat(t)
    session, _ = await chat.session()
    limit = asyncio.Semaphore(30)

    async def one(text: str, who: str | None) -> Reply:
        async with limit:
            if who is None:
                who, refused = await chat.session()
                if who is None:
                    return refused
            return await chat.send(who, text, message_id=secrets.token_hex(4))

    def judged(replies: list[Reply]) -> tuple[Counter[int], bool]:
        statuses = Counter(r.status for r in replies)
        throttled = [r for r in replies if r.status == 429]
        return statuses, bool(throttled) and all(r.headers.get("Retry-After") for r in throttled)

    started = time.monotonic()
    replies = await asyncio.gather(*(one(f"burst {i}", session) for i in range(n)))
    statuses, ok = judged(list(replies))
    rows.add(f"{n} POSTs from one session (concurrency 30)", f"{n} × POST", json.dumps(dict(statuses)),
             f"{time.monotonic() - started:.1f} s", ok, "some answered 429 with Retry-After")
    started = time.monotonic()
    replies = await asyncio.gather(*(one(f"new {i}", None) for i in range(n)))
    statuses, ok = judged(list(replies))
    rows.add(f"{n} POSTs from {n} new sessions", f"{n} × session + POST", json.dumps(dict(statuses)),
             f"{time.monotonic() - started:.1f} s", ok, "new sessions from one address are limited too")
    polls = await asyncio.gather(*(chat.poll(session or "") for _ in range(lab.profile.polls)))
    statuses, ok = judged(list(polls))
    rows.add(f"{lab.profile.polls} polls from one session", f"{lab.profile.polls} × GET", json.dumps(dict(statuses)),
             "", ok, "polls are limited too", failing=RISK)
    return rows.rows
