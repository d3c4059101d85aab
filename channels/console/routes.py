"""The operator console's HTTP side: the pages NGO hotline staff use to take over conversations the
assistant handed to a person (an urgent situation, or the person asked for one).

    GET  /console/login                    the sign-in form; POST checks the password (scrypt, CaseStore)
    POST /console/logout
    GET  /console                          the queue: open and claimed cases, most urgent, then oldest
    GET  /console/cases/{id}               summary, cited provisions, transcript, notes, and the forms
    POST /console/cases/{id}/claim|reply|note|close
    GET  /console/audit                    who did what to which case (read-only)
    GET  /console/failed                   messages and replies the gateway set aside after repeated
                                           failures: when, channel, reason (never what they said)
    GET  /console/static/console.css

A session is a random token in an HttpOnly, SameSite=Strict cookie limited to /console; the
database keeps only its hash. Every POST must carry the session's CSRF token in a hidden field
(compared in constant time), and a browser's cross-site POST is refused before that. The HTML is
channels/console/pages.py's; operators are added with channels/console/operators.py
(``rights operator add``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from importlib import resources
from typing import TYPE_CHECKING, Any

from aiohttp import web
from multidict import MultiDictProxy

from channels.cases import SESSION_SECONDS, CaseError, CaseStore, OperatorSession
from channels.console.pages import (
    CSRF_FIELD,
    LOGIN,
    MAX_NOTE,
    MAX_REPLY,
    MAX_USERNAME,
    QUEUE,
    STYLESHEET,
    audit_page,
    case_page,
    case_url,
    error_page,
    failed_page,
    login_page,
    queue_page,
)
from channels.keys import equal
from channels.observability import log_event
from channels.origin import same_origin

if TYPE_CHECKING:
    from channels.gateway import Gateway

COOKIE = "rights_console"
MAX_PASSWORD = 1024  # no reason to hash more
AUDIT_ROWS = 200
FAILED_ROWS = 200
# No script, no external source, no framing; forms may only post here.
# https://developer.mozilla.org/en-US/docs/Web/HTTP/Headers/Content-Security-Policy
CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none';"
       " frame-ancestors 'none'")
HEADERS = {"Content-Security-Policy": CSP, "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
           "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
           "Cross-Origin-Opener-Policy": "same-origin"}


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
        self.stylesheet_bytes = (resources.files("channels.console") / "static" / STYLESHEET).read_bytes()

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
        names = await self.gateway.db(self.cases.operator_names)
        stats = await self.gateway.db(self.gateway.store.stats)
        parked = stats.parked_inbox + stats.parked_outbox
        return _html(queue_page(me, waiting, names, self.gateway.clock(), parked))

    async def case(self, request: web.Request) -> web.StreamResponse:
        _, me = await self._operator(request)
        return await self._case_page(me, int(request.match_info["id"]))

    async def audit(self, request: web.Request) -> web.StreamResponse:
        _, me = await self._operator(request)
        rows = await self.gateway.db(self.cases.audit_log, AUDIT_ROWS)
        return _html(audit_page(me, rows, AUDIT_ROWS))

    async def failed(self, request: web.Request) -> web.StreamResponse:
        _, me = await self._operator(request)
        rows = await self.gateway.db(self.gateway.store.parked, FAILED_ROWS)
        return _html(failed_page(me, rows, FAILED_ROWS))

    async def stylesheet(self, request: web.Request) -> web.StreamResponse:
        return web.Response(body=self.stylesheet_bytes, content_type="text/css", charset="utf-8")

    async def _case_page(self, me: OperatorSession, case_id: int, error: str = "", status: int = 200,
                         drafts: Mapping[str, str] | None = None) -> web.Response:
        try:
            case = await self.gateway.db(self.cases.get, case_id)
        except CaseError:
            return _html(error_page(f"There is no case {case_id} (it may have been deleted).", me), 404)
        transcript = await self.gateway.db(self.cases.messages, case_id)
        names = await self.gateway.db(self.cases.operator_names)
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
