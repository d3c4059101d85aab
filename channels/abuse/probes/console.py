"""Section 4: the operator console: sign-in, sessions, CSRF, XSS, redirects, headers, metrics."""

from __future__ import annotations

import asyncio
import html
import json
import re
import secrets
import statistics
import time
from collections import Counter
from urllib.parse import urlencode

from channels.abuse import signing
from channels.abuse.client import LOGIN_PATH, Console, Reply, hidden_fields, raw
from channels.abuse.fakes import HOST
from channels.abuse.gateway import OPERATOR_PASSWORDS
from channels.abuse.lab import Lab, settle
from channels.abuse.probes.common import (
    CONSOLE_HEADERS,
    COOKIE,
    XSS,
    Rows,
    case_action,
    open_case,
    to_login,
)
from channels.abuse.report import RISK, Row


async def console_requires_login(lab: Lab) -> list[Row]:
    rows, t = Rows("4.1"), await lab.target("main")
    anonymous = Console(lab.http, t.url)
    pages = ["/console", "/console/cases/1", "/console/audit", "/console/failed", "/console/cases/999999999999"]
    for path in pages:
        reply = await anonymous.get(path)
        rows.add(f"GET {path} without signing in", "no cookie", reply, reply.headers.get("Location", reply.excerpt()),
                 to_login(reply) or reply.status in (401, 403))
    for path in ("/console/cases/1/claim", "/console/cases/1/reply", "/console/cases/1/note",
                 "/console/cases/1/close", "/console/logout"):
        reply = await anonymous.post(path, {"text": "x", "csrf": "x"})
        rows.add(f"POST {path} without signing in", "no cookie", reply, reply.headers.get("Location", reply.excerpt()),
                 to_login(reply) or reply.status in (401, 403))
    forged = Console(lab.http, t.url)
    forged.cookies[COOKIE] = secrets.token_urlsafe(32)
    reply = await forged.get("/console/cases/1")
    rows.add("GET a case with a forged session cookie", "rights_console=<random>", reply,
             reply.headers.get("Location", reply.excerpt()), to_login(reply) or reply.status in (401, 403))
    return rows.rows


async def signin_refusals(lab: Lab) -> list[Row]:
    rows, t = Rows("4.2"), await lab.target("main")
    console = Console(lab.http, t.url)
    reply = await console.login("alice", "wrong-password-123")
    rows.add("sign in with a wrong password", "alice / wrong", reply,
             f"session cookie set: {COOKIE in console.cookies}",
             reply.status == 401 and COOKIE not in console.cookies)
    timings: dict[str, list[float]] = {"alice": [], "nosuchuser": []}
    for _ in range(lab.profile.timing_tries):
        for name in timings:
            attempt = await Console(lab.http, t.url).login(name, "wrong-password-123")
            timings[name].append(attempt.ms)
    known, unknown = (statistics.median(timings[n]) for n in ("alice", "nosuchuser"))
    rows.add(f"unknown user vs known user ({lab.profile.timing_tries} tries each)", "nosuchuser / alice",
             401, f"median {unknown:.1f} ms vs {known:.1f} ms",
             abs(known - unknown) < 10 or 0.5 < unknown / max(known, 0.1) < 2, "no username enumeration by timing")
    evil = '"><script>alert(1)</script>'
    reply = await Console(lab.http, t.url).login(evil, "wrong-password-123")
    rows.add("the sign-in page reflects the username", evil, reply,
             "raw markup in the page" if "<script>alert(1)" in reply.text else "escaped",
             "<script>alert(1)" not in reply.text)
    return rows.rows


async def signin_throttling(lab: Lab) -> list[Row]:
    rows, t = Rows("4.3"), await lab.target("limits")
    n = lab.profile.brute_force
    limit = asyncio.Semaphore(10)

    async def guess(i: int) -> Reply:
        async with limit:
            return await Console(lab.http, t.url).login("alice", f"guess-number-{i:06d}")

    started = time.monotonic()
    replies = await asyncio.gather(*(guess(i) for i in range(n)))
    took = time.monotonic() - started
    statuses = Counter(r.status for r in replies)
    throttled = statuses.get(429, 0) + statuses.get(403, 0) + statuses.get(423, 0)
    rows.add(f"{n} wrong passwords for one account (concurrency 10)", f"alice / {n} guesses",
             json.dumps(dict(statuses)), f"{took:.1f} s = {n / max(took, 0.001):.0f} guesses/s", throttled > 0,
             "throttled or locked out")
    console = Console(lab.http, t.url)
    reply = await console.login("alice", OPERATOR_PASSWORDS["alice"])
    signed_in = reply.status in (302, 303) and COOKIE in console.cookies
    rows.add("the right password just after the burst", "alice / right", reply,
             "signed in" if signed_in else reply.excerpt(), not signed_in, "refused while locked out")
    return rows.rows


async def console_csrf(lab: Lab) -> list[Row]:
    rows, t = Rows("4.5"), await lab.target("main")
    alice, bob = await lab.operator(t, "alice"), await lab.operator(t, "bob")
    case_id = await open_case(lab, t, alice)
    if case_id is None:
        rows.add("open a case to probe", "HANDOFF", "", "no case appeared", False)
        return rows.rows
    bob_token = (await bob.form_token(f"/console/cases/{case_id}")).get("csrf", "")
    good = (await alice.form_token(f"/console/cases/{case_id}")).get("csrf", "")
    note = lab.marker("csrf-note")
    tokens = [("no token", None), ("a wrong token", "wrong-token"), ("the token minus one character", good[:-1]),
              ("another operator's token", bob_token)]
    for action in ("claim", "reply", "note", "close"):
        for label, token in tokens:
            reply = await case_action(alice, case_id, action, {"text": note}, csrf=token)
            rows.add(f"{action} with {label}", label, reply, reply.excerpt(60), reply.status == 403)
    for label, token in tokens:
        reply = await alice.post("/console/logout", {} if token is None else {"csrf": token})
        rows.add(f"logout with {label}", label, reply, reply.excerpt(60), reply.status == 403)
    page = (await alice.get(f"/console/cases/{case_id}")).text
    still_open = "Claim this case" in page
    rows.add("nothing was done", f"case {case_id}", 200,
             f"still open: {still_open}; note shown: {note in page}; replies sent: {t.api.count(note)}",
             still_open and note not in page and t.api.count(note) == 0 and "/console/logout" in page)
    return rows.rows


async def console_cross_site(lab: Lab) -> list[Row]:
    rows, t = Rows("4.6"), await lab.target("main")
    alice = await lab.operator(t, "alice")
    case_id = await open_case(lab, t, alice)
    if case_id is None:
        rows.add("open a case to probe", "HANDOFF", "", "no case appeared", False)
        return rows.rows
    for label, headers in (("Origin: https://evil.example", {"Origin": "https://evil.example"}),
                           ("Sec-Fetch-Site: cross-site", {"Sec-Fetch-Site": "cross-site"})):
        reply = await case_action(alice, case_id, "claim", headers=headers)
        rows.add(f"claim with a valid token but {label}", label, reply, reply.excerpt(60), reply.status == 403)
    reply = await case_action(alice, case_id, "claim", headers={"Origin": "null"})
    rows.add("claim with a valid token and Origin: null (allowed, documented)", "Origin: null", reply,
             reply.headers.get("Location", ""), reply.status in (302, 303),
             "browsers send null for no-referrer pages")
    return rows.rows


async def cookie_flags(lab: Lab) -> list[Row]:
    rows, t = Rows("4.7"), await lab.target("main")
    console = Console(lab.http, t.url)
    reply = await console.login("alice", OPERATOR_PASSWORDS["alice"])
    flags = console.set_cookie.get(COOKIE, "")
    wanted = ("HttpOnly", "SameSite=Strict", "Secure", "Path=/console", "Max-Age=")
    missing = [flag for flag in wanted if flag.lower() not in flags.lower()]
    rows.add("session cookie flags (public URL https)", "alice / right", reply,
             re.sub(r"=[A-Za-z0-9_-]{20,}", "=<token>", flags), reply.status == 303 and not missing,
             f"missing: {', '.join(missing)}" if missing else "")
    return rows.rows


async def cookie_without_public_url(lab: Lab) -> list[Row]:
    rows, t = Rows("4.8"), await lab.target("nopublic")
    console = Console(lab.http, t.url)
    reply = await console.login("alice", OPERATOR_PASSWORDS["alice"], headers={"X-Forwarded-Proto": "https"})
    flags = console.set_cookie.get(COOKIE, "")
    rows.add("session cookie with GATEWAY_PUBLIC_URL unset (behind TLS)", "alice / right", reply,
             re.sub(r"=[A-Za-z0-9_-]{20,}", "=<token>", flags), "secure" in flags.lower(), "Secure by default")
    return rows.rows


async def session_fixation(lab: Lab) -> list[Row]:
    rows, t = Rows("4.9"), await lab.target("main")
    planted = secrets.token_urlsafe(32)
    console = Console(lab.http, t.url)
    console.cookies[COOKIE] = planted
    reply = await console.login("alice", OPERATOR_PASSWORDS["alice"])
    fresh = console.cookies.get(COOKIE, "")
    attacker = Console(lab.http, t.url)
    attacker.cookies[COOKIE] = planted
    after = await attacker.get("/console")
    rows.add("a planted cookie, then sign in", "Cookie: rights_console=<attacker's>", reply,
             f"new token differs: {bool(fresh) and fresh != planted}; planted value -> {after.status}",
             bool(fresh) and fresh != planted and (to_login(after) or after.status in (401, 403)))
    return rows.rows


async def logout(lab: Lab) -> list[Row]:
    rows, t = Rows("4.10"), await lab.target("main")
    alice = await lab.operator(t, "alice")
    case_id = await open_case(lab, t, alice)
    old_cookie = dict(alice.cookies)
    case_token = (await alice.form_token(f"/console/cases/{case_id}")).get("csrf", "") if case_id else ""
    reply = await alice.post("/console/logout", await alice.form_token("/console"))
    rows.add("logout with its token", "POST /console/logout", reply, reply.headers.get("Location", ""), to_login(reply))
    replay = Console(lab.http, t.url)
    replay.cookies.update(old_cookie)
    after = await replay.get("/console")
    rows.add("the old cookie after logout", "GET /console", after, after.headers.get("Location", ""),
             to_login(after) or after.status in (401, 403))
    if case_id:
        note = lab.marker("after-logout")
        posted = await replay.post(f"/console/cases/{case_id}/note", {"csrf": case_token, "text": note})
        rows.add("the old cookie and token after logout", "POST note", posted, posted.headers.get("Location", ""),
                 to_login(posted) or posted.status in (401, 403))
    reply = await lab.http.get(t.url + "/console/logout")
    rows.add("GET /console/logout", "GET", reply, reply.excerpt(60), reply.status == 405)
    return rows.rows


async def console_xss(lab: Lab) -> list[Row]:
    rows, t = Rows("4.11"), await lab.target("main")
    alice = await lab.operator(t, "alice")
    case_id = await open_case(lab, t, alice, via="webchat", extra=" ".join(XSS))
    if case_id is None:
        rows.add("open a case from the web chat", "HANDOFF + markup", "", "no case appeared", False)
        return rows.rows
    await case_action(alice, case_id, "claim")
    await case_action(alice, case_id, "reply", {"text": f"reply {XSS[0]}"})
    await case_action(alice, case_id, "note", {"text": f"note {XSS[1]}"})
    for label, path in (("case page: transcript, summary, topic, citations, reply, note", f"/console/cases/{case_id}"),
                        ("queue page: topic column", "/console")):
        reply = await alice.get(path)
        raw_found = [x for x in XSS if x in reply.text]
        escaped = sum(reply.text.count(html.escape(x)) for x in XSS)
        rows.add(f"stored XSS: {label}", "<img onerror>, <script>", reply,
                 f"raw markup: {len(raw_found)}; escaped: {escaped}", not raw_found and reply.status == 200)
    csp = (await alice.get(f"/console/cases/{case_id}")).headers.get("Content-Security-Policy", "")
    rows.add("console CSP allows no script", "GET case", 200, csp[:80],
             "default-src 'none'" in csp and "script-src" not in csp)
    return rows.rows


async def console_idor(lab: Lab) -> list[Row]:
    rows, t = Rows("4.12"), await lab.target("main")
    alice, bob = await lab.operator(t, "alice"), await lab.operator(t, "bob")
    case_id = await open_case(lab, t, alice)
    if case_id is None:
        rows.add("open a case to probe", "HANDOFF", "", "no case appeared", False)
        return rows.rows
    await case_action(alice, case_id, "claim")
    reply_marker = lab.marker("bob-reply")
    reply = await case_action(bob, case_id, "reply", {"text": reply_marker})
    await settle(0.5)
    rows.add("bob replies on alice's claimed case", "bob's cookie and token", reply,
             f"replies sent: {t.api.count(reply_marker)}",
             reply.status in (403, 409) and t.api.count(reply_marker) == 0)
    reply = await case_action(bob, case_id, "claim")
    rows.add("bob claims alice's claimed case", "bob's cookie and token", reply, reply.excerpt(60),
             reply.status in (403, 409))
    for number in ("0", "999999999999", "1000000000000", "-1", "1abc"):
        reply = await alice.get(f"/console/cases/{number}")
        rows.add(f"case id {number}", "GET", reply, reply.excerpt(40), reply.status == 404)
    return rows.rows


async def shared_queue(lab: Lab) -> list[Row]:
    rows, t = Rows("4.13"), await lab.target("main")
    alice, bob = await lab.operator(t, "alice"), await lab.operator(t, "bob")
    case_id = await open_case(lab, t, alice)
    if case_id is None:
        rows.add("open a case to probe", "HANDOFF", "", "no case appeared", False)
        return rows.rows
    await case_action(alice, case_id, "claim")
    reply = await bob.get(f"/console/cases/{case_id}")
    rows.add("bob reads alice's claimed case", "bob's cookie", reply, "transcript shown" if reply.status == 200 else
             reply.excerpt(60), reply.status != 200 or RISK, "one shared queue, by design")
    reply = await case_action(bob, case_id, "note", {"text": lab.marker("bob-note")})
    rows.add("bob adds a note to alice's claimed case", "bob's cookie and token", reply,
             reply.headers.get("Location", reply.excerpt(60)), reply.status not in (302, 303) or RISK,
             "one shared queue, by design")
    return rows.rows


async def open_redirects(lab: Lab) -> list[Row]:
    rows, t = Rows("4.14"), await lab.target("main")
    console = Console(lab.http, t.url)
    fields = hidden_fields((await console.get(LOGIN_PATH)).text)
    reply = await console.post(LOGIN_PATH + "?next=https://evil.example",
                               {**fields, "username": "alice", "password": OPERATOR_PASSWORDS["alice"]})
    targets = [("sign in with ?next=https://evil.example", reply)]
    for path in ("//evil.example/", "/console/%2e%2e/%2e%2e//evil.example", "/console/", "/console/login/"):
        targets.append((f"GET {path}", await console.get(path)))
    for label, reply in targets:
        location = reply.headers.get("Location", "")
        local = not location or (location.startswith("/") and not location.startswith("//"))
        rows.add(f"open redirect: {label}", label, reply, location or "no redirect", local,
                 "every redirect goes to a fixed local path")
    return rows.rows


async def console_headers(lab: Lab) -> list[Row]:
    rows, t = Rows("4.15"), await lab.target("main")
    alice = await lab.operator(t, "alice")
    for path in ("/console/login", "/console", "/console/cases/999999", "/console/static/console.css",
                 "/console/nonexistent"):
        reply = await (alice.get(path) if path != "/console/login" else Console(lab.http, t.url).get(path))
        missing = [name for name, value in CONSOLE_HEADERS.items() if value not in reply.headers.get(name, "")]
        rows.add(f"security headers on {path}", "GET", reply, "missing: " + ", ".join(missing) if missing else
                 "all present", not missing)
    return rows.rows


async def console_bad_bytes(lab: Lab) -> list[Row]:
    rows, t = Rows("4.16"), await lab.target("main")
    console = Console(lab.http, t.url)
    fields = hidden_fields((await console.get(LOGIN_PATH)).text)
    token = urlencode(fields).encode()
    cookie = "; ".join(f"{k}={v}" for k, v in console.cookies.items())
    headers = {"Cookie": cookie} if cookie else {}
    bogus = signing.FORM + "; charset=bogus"
    for label, body, kind in (("a body that is not UTF-8", b"username=\xff\xfe&password=x&" + token, signing.FORM),
                              ("charset=bogus", b"username=alice&password=x&" + token, bogus)):
        reply = await lab.http.post(t.url + LOGIN_PATH, data=body, headers={"Content-Type": kind, **headers})
        rows.add(f"sign-in form: {label}", repr(body[:24]), reply, reply.excerpt(60), 400 <= reply.status < 500,
                 "a 4xx, never a 5xx")
    request = (f"GET /console HTTP/1.1\r\nHost: {HOST}:{t.port}\r\nConnection: close\r\n".encode()
               + b'Cookie: rights_console="\xff\xfe"\r\n\r\n')
    reply = await raw(HOST, t.port, request)
    rows.add("console cookie holding non-UTF-8 bytes", 'rights_console="\\xff\\xfe"', reply,
             reply.headers.get("Location", reply.excerpt(60)), to_login(reply) or 400 <= reply.status < 500)
    long = Console(lab.http, t.url)
    long.cookies[COOKIE] = "x" * 300
    reply = await long.get("/console")
    rows.add("console cookie of 300 characters", "x × 300", reply, reply.headers.get("Location", ""),
             to_login(reply) or 400 <= reply.status < 500)
    return rows.rows


async def login_csrf(lab: Lab) -> list[Row]:
    rows, t = Rows("4.17"), await lab.target("main")
    console = Console(lab.http, t.url)
    reply = await console.post(LOGIN_PATH, {"username": "bob", "password": OPERATOR_PASSWORDS["bob"]},
                               headers={"Origin": "null"})
    signed_in = COOKIE in console.cookies
    rows.add("sign-in POST without the form's token, Origin: null", "bob / right, no token", reply,
             "signed in" if signed_in else reply.excerpt(60), not signed_in, "the sign-in form carries a token",
             failing=RISK)
    return rows.rows


async def metrics_exposure(lab: Lab) -> list[Row]:
    rows, t = Rows("4.18"), await lab.target("main")
    reply = await lab.http.get(t.url + "/metrics")
    rows.add("/metrics without a token", "GET", reply, reply.excerpt(60), reply.status in (401, 403, 404),
             "behind a token or on a loopback port", failing=RISK)
    wrong = await lab.http.get(t.url + "/metrics", headers={"Authorization": "Bearer wrong-token"})
    rows.add("/metrics with a wrong token", "Bearer wrong", wrong, wrong.excerpt(60), wrong.status in (401, 403, 404),
             failing=RISK)
    right = await lab.http.get(t.url + "/metrics", headers={"Authorization": f"Bearer {signing.METRICS_TOKEN}"})
    rows.add("/metrics with the token (sanity)", "Bearer <token>", right, right.excerpt(60),
             right.status == 200 or reply.status == 404, "404 if served on another port")
    health = await lab.http.get(t.url + "/healthz")
    leaked = [p for p in (signing.user_id("whatsapp", 100), "session") if p in health.text]
    rows.add("/healthz, public", "GET", health, health.excerpt(80), health.status in (200, 503) and not leaked,
             "status and channels only")
    return rows.rows
