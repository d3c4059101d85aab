"""The operator console: the page NGO hotline staff use to take over conversations the assistant
handed to a person (an urgent situation, or the person asked for one).

    GET  /console/login                    the sign-in form; POST checks the password (scrypt, CaseStore)
    POST /console/logout
    GET  /console                          the queue: open and claimed cases, most urgent, then oldest
    GET  /console/cases/{id}               summary, cited provisions, transcript, notes, and the forms
    POST /console/cases/{id}/claim|reply|note|close
    GET  /console/audit                    who did what to which case (read-only)
    GET  /console/failed                   messages and replies the gateway set aside after repeated
                                           failures: when, channel, reason (never what they said)
    GET  /console/static/console.css

Server-rendered HTML without any script, so it works in any browser and the Content-Security-Policy
can forbid scripts altogether. A session is a random token in an HttpOnly, SameSite=Strict cookie
limited to /console; the database keeps only its hash. Every POST must carry the session's CSRF token
in a hidden field (compared in constant time), and a browser's cross-site POST is refused before that.
Everything shown is escaped: the transcript and the summary are what a stranger typed.

Add an operator with ``python -m channels.console add-operator USERNAME``.
"""

from __future__ import annotations

import argparse
import getpass
import html
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timezone
from importlib import resources
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from aiohttp import web
from multidict import MultiDictProxy

from channels.cases import SESSION_SECONDS, Case, CaseError, CaseMessage, CaseStore, OperatorSession, operators
from channels.keys import equal
from channels.observability import log_event
from channels.settings import Settings
from channels.store import ParkedRow
from channels.webchat import same_origin

if TYPE_CHECKING:
    from channels.gateway import Gateway

COOKIE = "rights_console"
CSRF_FIELD = "csrf"
LOGIN, QUEUE = "/console/login", "/console"
REFRESH_SECONDS = 20  # the queue page reloads itself this often
MAX_USERNAME = 64  # as the operators table allows
MAX_PASSWORD = 1024  # no reason to hash more
MAX_REPLY = 2000  # characters an operator may send at once (the channel splits it to its own limits)
MAX_NOTE = 4000
AUDIT_ROWS = 200
FAILED_ROWS = 200
# No script, no external source, no framing; forms may only post here.
# https://developer.mozilla.org/en-US/docs/Web/HTTP/Headers/Content-Security-Policy
CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none';"
       " frame-ancestors 'none'")
HEADERS = {"Content-Security-Policy": CSP, "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
           "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
           "Cross-Origin-Opener-Policy": "same-origin"}
AUTHORS = {"person": "Person", "bot": "Assistant", "operator": "Operator", "note": "Internal note"}
STYLESHEET = "console.css"


class Refused(Exception):
    """A request the console will not act on; ``status`` and ``message`` go back on a page."""

    def __init__(self, status: int, message: str, drafts: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.drafts = dict(drafts or {})


@web.middleware
async def security_headers(request: web.Request,
                           handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    """The console's headers on every /console response, redirects and errors included."""
    if not (request.path == QUEUE or request.path.startswith(QUEUE + "/")):
        return await handler(request)
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        exc.headers.update(HEADERS)
        raise
    response.headers.update(HEADERS)
    return response


class ConsoleRoutes:
    """The HTTP side. Every store call goes through ``gateway.db`` (the database thread)."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.cases: CaseStore = gateway.cases
        self.secure = gateway.settings.public_url.lower().startswith("https://")
        self.stylesheet_bytes = (resources.files("channels") / "static" / STYLESHEET).read_bytes()

    # sessions and forms

    async def _session(self, request: web.Request) -> tuple[str, OperatorSession] | None:
        token = request.cookies.get(COOKIE, "")
        if not token or len(token) > 200:
            return None
        found = await self.gateway.db(self.cases.session, token)
        return (token, found) if found is not None else None

    async def _operator(self, request: web.Request) -> tuple[str, OperatorSession]:
        """The signed-in operator, or a redirect to the sign-in form."""
        found = await self._session(request)
        if found is None:
            raise web.HTTPSeeOther(LOGIN)
        return found

    def _same_site(self, request: web.Request) -> None:
        """Refuse a POST a browser says came from another site (before any token is looked at).

        ``Origin: null`` is let through to the CSRF check: browsers send it for every form POST from
        a page with ``Referrer-Policy: no-referrer``, which the console's pages have."""
        site = request.headers.get("Sec-Fetch-Site")
        origin = request.headers.get("Origin")
        cross = (site is not None and site not in ("same-origin", "none")) or (
            origin is not None and origin != "null"
            and not same_origin(origin, request.host, self.gateway.settings.public_url))
        if cross:
            log_event("console_refused", logging.WARNING, path=request.path, reason="cross-site request")
            raise Refused(403, "Refused: this request came from another site. Nothing was done.")

    async def _form(self, request: web.Request, session: OperatorSession) -> MultiDictProxy[Any]:
        """The posted form, once it has shown the session's CSRF token."""
        self._same_site(request)
        form = await request.post()
        given = form.get(CSRF_FIELD)
        if not isinstance(given, str) or not given or not equal(given, session.csrf):
            log_event("console_refused", logging.WARNING, path=request.path,
                      reason="missing CSRF token" if not given else "wrong CSRF token")
            raise Refused(403, "Refused: this form did not carry the console's security token (an old page, "
                               "or a form from another site). Nothing was done: go back, reload and try again.")
        return form

    # signing in and out

    async def login_form(self, request: web.Request) -> web.StreamResponse:
        if await self._session(request) is not None:
            raise web.HTTPSeeOther(QUEUE)
        return _html(login_page())

    async def login(self, request: web.Request) -> web.StreamResponse:
        try:
            self._same_site(request)
        except Refused as exc:
            return _html(error_page(exc.message), exc.status)
        form = await request.post()
        username, password = form.get("username"), form.get("password")
        if (not isinstance(username, str) or not isinstance(password, str) or not username or not password
                or len(username) > MAX_USERNAME or len(password) > MAX_PASSWORD):
            result = None
        else:
            result = await self.gateway.db(self.cases.sign_in, username, password)
        if result is None:
            # no username in the log: people type their password into the wrong field
            log_event("console_sign_in_refused", logging.WARNING)
            name = username if isinstance(username, str) else ""
            return _html(login_page("wrong username or password", name[:MAX_USERNAME]), 401)
        token, session = result
        log_event("console_sign_in", operator=session.username)
        response = web.HTTPSeeOther(QUEUE)
        response.set_cookie(COOKIE, token, path=QUEUE, max_age=SESSION_SECONDS, httponly=True,
                            secure=self.secure, samesite="Strict")
        raise response

    async def logout(self, request: web.Request) -> web.StreamResponse:
        token, me = await self._operator(request)
        try:
            await self._form(request, me)
        except Refused as exc:
            return _html(error_page(exc.message, me), exc.status)
        await self.gateway.db(self.cases.sign_out, token, me.username)
        log_event("console_sign_out", operator=me.username)
        response = web.HTTPSeeOther(LOGIN)
        response.del_cookie(COOKIE, path=QUEUE)
        raise response

    # pages

    async def queue(self, request: web.Request) -> web.StreamResponse:
        _, me = await self._operator(request)
        waiting = await self.gateway.db(self.cases.queue)
        names = await self.gateway.db(operator_names, self.cases)
        stats = await self.gateway.db(self.gateway.store.stats)
        parked = stats.parked_inbox + stats.parked_outbox
        return _html(queue_page(me, waiting, names, self.gateway.clock(), parked))

    async def case(self, request: web.Request) -> web.StreamResponse:
        _, me = await self._operator(request)
        return await self._case_page(me, int(request.match_info["id"]))

    async def audit(self, request: web.Request) -> web.StreamResponse:
        _, me = await self._operator(request)
        rows = await self.gateway.db(self.cases.audit_log, AUDIT_ROWS)
        return _html(audit_page(me, rows))

    async def failed(self, request: web.Request) -> web.StreamResponse:
        _, me = await self._operator(request)
        rows = await self.gateway.db(self.gateway.store.parked, FAILED_ROWS)
        return _html(failed_page(me, rows))

    async def stylesheet(self, request: web.Request) -> web.StreamResponse:
        return web.Response(body=self.stylesheet_bytes, content_type="text/css", charset="utf-8")

    async def _case_page(self, me: OperatorSession, case_id: int, error: str = "", status: int = 200,
                         drafts: Mapping[str, str] | None = None) -> web.Response:
        try:
            case = await self.gateway.db(self.cases.get, case_id)
        except CaseError:
            return _html(error_page(f"There is no case {case_id} (it may have been deleted).", me), 404)
        transcript = await self.gateway.db(self.cases.messages, case_id)
        names = await self.gateway.db(operator_names, self.cases)
        return _html(case_page(me, case, transcript, names, self.gateway.clock(), error, drafts or {}), status)

    # actions

    async def claim(self, request: web.Request) -> web.StreamResponse:
        return await self._act(request, "claim", self._claim)

    async def reply(self, request: web.Request) -> web.StreamResponse:
        return await self._act(request, "reply", self._reply)

    async def note(self, request: web.Request) -> web.StreamResponse:
        return await self._act(request, "note", self._note)

    async def close(self, request: web.Request) -> web.StreamResponse:
        return await self._act(request, "close", self._close)

    async def _act(self, request: web.Request, action: str,
                   work: Callable[[int, OperatorSession, MultiDictProxy[Any]], Awaitable[str]]) -> web.StreamResponse:
        """CSRF first, then the action; a refusal or a CaseError shows the case again, nothing done."""
        _, me = await self._operator(request)
        case_id = int(request.match_info["id"])
        try:
            form = await self._form(request, me)
        except Refused as exc:
            return _html(error_page(exc.message, me), exc.status)
        try:
            then = await work(case_id, me, form)
        except Refused as exc:
            return await self._case_page(me, case_id, exc.message, exc.status, exc.drafts)
        except CaseError as exc:
            drafts = {action: str(form.get("text") or "")} if action in ("reply", "note") else {}
            return await self._case_page(me, case_id, str(exc), 409, drafts)
        log_event("console_action", action=action, case=case_id, operator=me.username)
        raise web.HTTPSeeOther(then)

    async def _claim(self, case_id: int, me: OperatorSession, form: MultiDictProxy[Any]) -> str:
        await self.gateway.db(self.cases.claim, case_id, me)
        return case_url(case_id)

    async def _reply(self, case_id: int, me: OperatorSession, form: MultiDictProxy[Any]) -> str:
        text = _text(form, "reply", MAX_REPLY)
        case = await self.gateway.db(self.cases.get, case_id)
        # The store's rule, checked before sending so that a refused reply is neither sent nor
        # recorded; record_reply checks it again (and audits) once the reply is queued.
        if case.status == "closed":
            raise CaseError(f"case {case_id} is closed")
        if case.status != "claimed" or case.operator_id != me.operator_id:
            raise CaseError("claim the case before replying")
        await self.gateway.reply_as_operator(case, text)
        await self.gateway.db(self.cases.record_reply, case_id, me, text)
        return case_url(case_id)

    async def _note(self, case_id: int, me: OperatorSession, form: MultiDictProxy[Any]) -> str:
        text = _text(form, "note", MAX_NOTE)
        await self.gateway.db(self.cases.note, case_id, me, text)
        return case_url(case_id)

    async def _close(self, case_id: int, me: OperatorSession, form: MultiDictProxy[Any]) -> str:
        await self.gateway.db(self.cases.close_case, case_id, me)
        return QUEUE


def _text(form: MultiDictProxy[Any], action: str, limit: int) -> str:
    text = form.get("text")
    text = text.strip() if isinstance(text, str) else ""
    if not text:
        raise Refused(400, f"The {action} is empty: write something first.")
    if len(text) > limit:
        raise Refused(400, f"The {action} is longer than {limit} characters: shorten it or send it in parts.",
                      {action: text})
    return text


def operator_names(store: CaseStore) -> dict[int, str]:
    """Operator IDs to usernames, to show who has claimed a case (runs on the database thread)."""
    with store.engine.connect() as db:
        rows = db.execute(sa.select(operators.c.id, operators.c.username)).all()
    return {int(row.id): str(row.username) for row in rows}


def case_url(case_id: int) -> str:
    return f"/console/cases/{case_id}"


# rendering: pure functions from data to HTML; every value passes through e()

def e(value: object) -> str:
    return html.escape(str(value), quote=True)


def age(seconds: float) -> str:
    """How long ago, as a person glancing at a queue reads it."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return "under a minute"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def layout(title: str, body: str, me: OperatorSession | None = None, refresh: bool = False) -> str:
    nav = ""
    if me is not None:
        nav = (f'<nav><a href="{QUEUE}">Queue</a> <a href="/console/audit">Audit log</a>'
               ' <a href="/console/failed">Failed</a>'
               f' <span class="who">Signed in as <b>{e(me.username)}</b></span>'
               f' <form method="post" action="/console/logout" class="inline">{csrf_input(me)}'
               '<button type="submit" class="link">Sign out</button></form></nav>')
    meta = f'<meta http-equiv="refresh" content="{REFRESH_SECONDS}">\n' if refresh else ""
    return ('<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f'{meta}<title>{e(title)} · Hotline console</title>\n'
            f'<link rel="stylesheet" href="/console/static/{STYLESHEET}">\n</head>\n<body>\n'
            f'<header class="top"><a class="brand" href="{QUEUE}">Hotline console</a>{nav}</header>\n'
            f'<main>\n{body}\n</main>\n</body>\n</html>\n')


def csrf_input(me: OperatorSession) -> str:
    return f'<input type="hidden" name="{CSRF_FIELD}" value="{e(me.csrf)}">'


def alert(message: str) -> str:
    return f'<p class="alert" role="alert">{e(message)}</p>' if message else ""


def login_page(error: str = "", username: str = "") -> str:
    return layout("Sign in", (
        '<h1>Sign in</h1>\n' + alert(error) +
        f'<form method="post" action="{LOGIN}" class="stack login">\n'
        f'<label for="username">Username</label><input id="username" name="username" autocomplete="username" '
        f'maxlength="{MAX_USERNAME}" required autofocus value="{e(username)}">\n'
        '<label for="password">Password</label><input id="password" name="password" type="password" '
        'autocomplete="current-password" required>\n'
        '<button type="submit">Sign in</button>\n</form>'))


def error_page(message: str, me: OperatorSession | None = None) -> str:
    return layout("Refused", f'<h1>Nothing was done</h1>\n{alert(message)}\n<p><a href="{QUEUE}">Back to the '
                             'queue</a></p>', me)


def status_text(case: Case, names: Mapping[int, str], me: OperatorSession) -> str:
    if case.status == "claimed":
        who = "you" if case.operator_id == me.operator_id else names.get(case.operator_id or 0, "another operator")
        return f"claimed by {who}"
    return case.status


def queue_page(me: OperatorSession, waiting: list[Case], names: Mapping[int, str], now: float,
               parked: int = 0) -> str:
    if not waiting:
        table = '<p class="empty">No open cases.</p>'
    else:
        rows = []
        for case in waiting:
            claimed_by = names.get(case.operator_id, "") if case.status == "claimed" and case.operator_id else ""
            rows.append(
                f'<tr class="urgency-{_level(case.urgency)} status-{e(case.status)}">'
                f'<td><a href="{case_url(case.id)}">Case {case.id}</a></td>'
                f'<td>{e(case.category)}</td><td>{e(case.topic)}</td><td>{e(case.language)}</td>'
                f'<td>{e(case.channel)}</td><td>{e(age(now - case.created))}</td>'
                f'<td>{e(case.status)}</td><td>{e(claimed_by)}</td></tr>')
        table = ('<table class="queue">\n<thead><tr><th>Case</th><th>Category</th><th>Topic</th><th>Language</th>'
                 '<th>Channel</th><th>Waiting</th><th>Status</th><th>Claimed by</th></tr></thead>\n<tbody>\n'
                 + "\n".join(rows) + '\n</tbody>\n</table>')
    failed = (f'<p class="alert failed" role="alert"><a href="/console/failed">{parked} message'
              f'{"s" if parked != 1 else ""} could not be processed</a>: the assistant did not answer '
              f'{"them" if parked != 1 else "it"}. Tell whoever runs the gateway.</p>\n') if parked else ""
    return layout("Queue", (
        f'<h1>Queue <small>{len(waiting)} open</small></h1>\n{failed}'
        f'<p class="hint">Most urgent first, then the longest waiting. This page reloads every '
        f'{REFRESH_SECONDS} seconds.</p>\n{table}'), me, refresh=True)


def _level(urgency: int) -> str:
    return "high" if urgency >= 8 else "medium" if urgency >= 6 else "low"


def case_page(me: OperatorSession, case: Case, transcript: list[CaseMessage], names: Mapping[int, str],
              now: float, error: str = "", drafts: Mapping[str, str] | None = None) -> str:
    drafts = drafts or {}
    citations = ("<ul class=\"citations\">" + "".join(f'<li dir="auto">{e(c)}</li>' for c in case.citations)
                 + "</ul>") if case.citations else '<p class="empty">None.</p>'
    messages = "\n".join(
        f'<li class="msg msg-{e(m.author)}"><div class="meta"><span class="author">'
        f'{e(AUTHORS.get(m.author, m.author))}</span> <time>{e(when(m.created))}</time></div>'
        f'<p dir="auto">{e(m.text)}</p></li>' for m in transcript)
    facts = (("Category", case.category), ("Topic", case.topic or "—"), ("Language", case.language),
             ("Channel", case.channel), ("Opened", f"{when(case.created)} ({age(now - case.created)} ago)"),
             ("Status", status_text(case, names, me)))
    body = (
        f'<h1>Case {case.id} <span class="badge urgency-{_level(case.urgency)}">{e(case.category)}</span></h1>\n'
        + alert(error) +
        '<dl class="facts">' + "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in facts) + '</dl>\n'
        f'<section><h2>Summary</h2><p class="summary" dir="auto">{e(case.summary or "—")}</p></section>\n'
        f'<section><h2>Cited provisions</h2>{citations}</section>\n'
        f'<section><h2>Transcript</h2><ol class="transcript">{messages}</ol></section>\n'
        + actions(me, case, drafts))
    return layout(f"Case {case.id}", body, me)


def actions(me: OperatorSession, case: Case, drafts: Mapping[str, str]) -> str:
    """The forms an operator can use on this case now."""
    if case.status == "closed":
        return '<section class="actions"><p class="hint">This case is closed.</p></section>'
    mine = case.status == "claimed" and case.operator_id == me.operator_id
    url = case_url(case.id)
    parts = ['<section class="actions"><h2>Actions</h2>']
    if case.status == "open":
        parts.append(
            f'<form method="post" action="{url}/claim" class="claim">{csrf_input(me)}'
            '<p class="hint">Claiming the case silences the assistant: what the person writes next comes here.</p>'
            '<button type="submit">Claim this case</button></form>')
    if mine:
        parts.append(
            f'<form method="post" action="{url}/reply" class="stack reply">{csrf_input(me)}'
            f'<label for="reply">Reply to the person (sent through {e(case.channel)}, in their language: '
            f'{e(case.language)})</label>'
            f'<textarea id="reply" name="text" dir="auto" rows="4" maxlength="{MAX_REPLY}" required>'
            f'{e(drafts.get("reply", ""))}</textarea>'
            '<button type="submit">Send reply</button></form>')
    elif case.status == "open":
        parts.append('<p class="hint">Claim the case to reply to the person.</p>')
    else:
        parts.append('<p class="hint">Another operator has claimed this case and replies to the person.</p>')
    parts.append(
        f'<form method="post" action="{url}/note" class="stack note">{csrf_input(me)}'
        '<label for="note">Internal note (never sent to the person)</label>'
        f'<textarea id="note" name="text" dir="auto" rows="3" maxlength="{MAX_NOTE}" required>'
        f'{e(drafts.get("note", ""))}</textarea>'
        '<button type="submit">Add note</button></form>')
    parts.append(
        f'<form method="post" action="{url}/close" class="close">{csrf_input(me)}'
        '<p class="hint">After closing, the assistant answers this person again.</p>'
        '<button type="submit" class="danger">Close case</button></form>')
    parts.append('</section>')
    return "\n".join(parts)


def audit_page(me: OperatorSession, rows: list[dict[str, Any]]) -> str:
    lines = "\n".join(
        f'<tr><td>{e(when(float(row["at"])))}</td><td>{e(row["operator"])}</td><td>{e(row["action"])}</td>'
        f'<td>{_case_link(row.get("case_id"))}</td><td>{e(row.get("detail") or "")}</td></tr>' for row in rows)
    return layout("Audit log", (
        f'<h1>Audit log</h1>\n<p class="hint">The latest {AUDIT_ROWS} actions, newest first. Read-only; it holds '
        'no message text.</p>\n<table class="audit"><thead><tr><th>When</th><th>Operator</th><th>Action</th>'
        f'<th>Case</th><th>Detail</th></tr></thead>\n<tbody>\n{lines}\n</tbody></table>'), me)


def failed_page(me: OperatorSession, rows: list[ParkedRow]) -> str:
    lines = "\n".join(
        f'<tr><td>{e(when(row.parked))}</td><td>{e(_QUEUE_NAMES.get(row.queue, row.queue))}</td>'
        f'<td>{e(row.channel)}</td><td>{e(when(row.since))}</td><td>{row.failures}</td><td>{e(row.reason)}</td></tr>'
        for row in rows)
    table = ('<table class="failed"><thead><tr><th>Set aside</th><th>What</th><th>Channel</th><th>Since</th>'
             f'<th>Tries</th><th>Reason</th></tr></thead>\n<tbody>\n{lines}\n</tbody></table>'
             if rows else '<p class="empty">Nothing has failed.</p>')
    return layout("Failed", (
        '<h1>Failed messages</h1>\n<p class="hint">Messages from people (and replies to them) that the gateway '
        'tried several times and then set aside, so that the rest of the conversation could go on. The person '
        'got no answer to them. The reason is for whoever runs the gateway (SealError: the gateway secret '
        f'changed). The latest {FAILED_ROWS}, newest first; they are deleted after the retention period.</p>\n'
        f'{table}'), me)


_QUEUE_NAMES = {"inbox": "message from a person", "outbox": "reply to a person"}


def _case_link(case_id: object) -> str:
    return f'<a href="{case_url(int(case_id))}">Case {int(case_id)}</a>' if isinstance(case_id, int) else ""


def _html(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8")


def register(app: web.Application, gateway: Gateway) -> None:
    """Add the console's pages, and its security headers, to the gateway's app (channels.app)."""
    routes = ConsoleRoutes(gateway)
    app.middlewares.append(security_headers)
    case = r"/console/cases/{id:\d{1,12}}"
    app.router.add_get(QUEUE, routes.queue)
    app.router.add_get(LOGIN, routes.login_form)
    app.router.add_post(LOGIN, routes.login)
    app.router.add_post("/console/logout", routes.logout)
    app.router.add_get("/console/audit", routes.audit)
    app.router.add_get("/console/failed", routes.failed)
    app.router.add_get(f"/console/static/{STYLESHEET}", routes.stylesheet)
    app.router.add_get(case, routes.case)
    app.router.add_post(f"{case}/claim", routes.claim)
    app.router.add_post(f"{case}/reply", routes.reply)
    app.router.add_post(f"{case}/note", routes.note)
    app.router.add_post(f"{case}/close", routes.close)


# the command line: adding operators

def add_operator(username: str, env: Mapping[str, str] | None = None,
                 ask: Callable[[str], str] | None = None) -> int:
    """Add an operator; the password comes from OPERATOR_PASSWORD (scripts) or is asked twice."""
    env = os.environ if env is None else env
    ask = ask or getpass.getpass
    password = env.get("OPERATOR_PASSWORD", "")
    if not password:
        password = ask(f"Password for {username}: ")
        if ask("Again: ") != password:
            print("error: the passwords differ; nothing was changed", file=sys.stderr)
            return 2
    store = CaseStore(env.get("CASES_DB_URL") or Settings.cases_db_url)
    try:
        store.add_operator(username, password)
    except CaseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        store.close()
    site = env.get("GATEWAY_PUBLIC_URL", "").rstrip("/") or "http://127.0.0.1:8080"
    print(f"operator {username!r} added; they sign in at {site}/console")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m channels.console add-operator USERNAME``."""
    parser = argparse.ArgumentParser(prog="python -m channels.console",
                                     description="Manage who may sign in to the operator console.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add = sub.add_parser("add-operator", help="add an operator (asks for the password twice, or reads "
                                              "OPERATOR_PASSWORD); the cases database is CASES_DB_URL")
    add.add_argument("username")
    args = parser.parse_args(argv)
    return add_operator(args.username)


if __name__ == "__main__":
    sys.exit(main())
