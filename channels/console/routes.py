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
(compared in constant time), and a browser's cross-site POST is refused before that. The sign-in
form has a token too, before there is a session: a random one, in a cookie of its own and in the
form (double submit), so that another site cannot sign a browser in to an account of its choosing.
Cookies are Secure unless CONSOLE_SECURE_COOKIES=false (a local run over plain http).

Sign-in attempts are counted per account and per client address in the case store
(channels.cases: CONSOLE_SIGNIN_FREE_FAILURES free, then a lockout of
CONSOLE_SIGNIN_LOCKOUT_SECONDS that doubles with each failure, at most an hour); during a lockout
the console answers 429 without checking the password. The check itself runs on a small pool of
its own (channels/console/signin.py), never on the database thread.

Forms are read strictly: URL-encoded UTF-8 (400 otherwise, 415 for another kind of body), and a
cookie that is no token of ours counts as none. The HTML is channels/console/pages.py's;
operators are added with channels/console/operators.py (``rights operator add``).
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from importlib import resources
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from aiohttp import web
from multidict import MultiDict, MultiDictProxy

from channels.cases import SESSION_SECONDS, CaseError, CaseStore, OperatorSession, SignInLimits
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
    try_again,
)
from channels.console.signin import Busy, Lockouts, PasswordChecks
from channels.keys import equal
from channels.limits import client_ip, ip_key, retry_after
from channels.observability import log_event
from channels.origin import same_origin

if TYPE_CHECKING:
    from channels.gateway import Gateway

COOKIE = "rights_console"
LOGIN_COOKIE = "rights_console_login"  # the sign-in form's CSRF token
LOGIN_TOKEN_SECONDS = 3600  # how long a sign-in form stays usable
# what secrets.token_urlsafe(32) makes; any other cookie value is no token of ours
TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")
FORM = "application/x-www-form-urlencoded"
MAX_FIELDS = 8  # the console's forms have at most four
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
    """The HTTP side. Every store call goes through ``gateway.db`` (the database thread); password
    checks go to their own pool (``checks``)."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.cases: CaseStore = gateway.cases
        settings = gateway.settings
        # an https public URL means TLS in front even if the setting says otherwise
        self.secure = settings.secure_cookies or settings.public_url.lower().startswith("https://")
        self.limits = SignInLimits(settings.signin_free_failures, settings.signin_lockout_seconds)
        self.checks = PasswordChecks()
        self.lockouts = Lockouts()
        self.stylesheet_bytes = (resources.files("channels.console") / "static" / STYLESHEET).read_bytes()

    async def password_checks(self, app: web.Application) -> AsyncIterator[None]:
        """The password-check pool lives as long as the app (a check still running then finishes)."""
        try:
            yield
        finally:
            self.checks.close()

    # sessions and forms

    async def _session(self, request: web.Request) -> tuple[str, OperatorSession] | None:
        token = _cookie(request, COOKIE)
        if token is None:
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

    async def _form(self, request: web.Request, session: OperatorSession) -> MultiDictProxy[str]:
        """The posted form, once it has shown the session's CSRF token."""
        self._same_site(request)
        form = await _read_form(request)
        given = form.get(CSRF_FIELD)
        if not given or not equal(given, session.csrf):
            log_event("console_refused", logging.WARNING, path=request.path,
                      reason="missing CSRF token" if not given else "wrong CSRF token")
            raise Refused(403, "Refused: this form did not carry the console's security token (an old page, "
                               "or a form from another site). Nothing was done: go back, reload and try again.")
        return form

    # signing in and out

    async def login_form(self, request: web.Request) -> web.StreamResponse:
        if await self._session(request) is not None:
            raise web.HTTPSeeOther(QUEUE)
        return self._login_page(request)

    def _login_page(self, request: web.Request, error: str = "", username: str = "",
                    status: int = 200) -> web.Response:
        """The sign-in form, with its CSRF token: the browser's own while it is well formed (two
        tabs keep working), a new one otherwise; its cookie is set again either way, for another
        LOGIN_TOKEN_SECONDS."""
        token = _cookie(request, LOGIN_COOKIE) or secrets.token_urlsafe(32)
        response = _html(login_page(error, username[:MAX_USERNAME], token), status)
        response.set_cookie(LOGIN_COOKIE, token, path=LOGIN, max_age=LOGIN_TOKEN_SECONDS, httponly=True,
                            secure=self.secure, samesite="Strict")
        return response

    async def login(self, request: web.Request) -> web.StreamResponse:
        try:
            self._same_site(request)
            form = await _read_form(request)
        except Refused as exc:
            return _html(error_page(exc.message), exc.status)
        token, given = _cookie(request, LOGIN_COOKIE), form.get(CSRF_FIELD)
        if token is None or not given or not equal(given, token):
            log_event("console_refused", logging.WARNING, path=request.path,
                      reason="missing sign-in token" if token is None or not given else "wrong sign-in token")
            return self._login_page(request, "This sign-in form had expired or came from another site. "
                                             "Nothing was done: sign in again.", status=403)
        username, password = form.get("username", ""), form.get("password", "")
        if not username or not password or len(username) > MAX_USERNAME or len(password) > MAX_PASSWORD:
            log_event("console_sign_in_refused", logging.WARNING, reason="empty or too long")
            return self._login_page(request, "wrong username or password", username, 401)
        address = ip_key(client_ip(request, self.gateway.settings.trust_proxy))
        keys = self.cases.throttle_keys(username, address)
        now = self.gateway.clock()
        wait = self.lockouts.wait(keys, now)  # a lockout seen before: not even a database call
        if wait > 0:
            return self._locked_out(request, username, now, wait)
        try:
            with self.checks.slot():
                attempt = await self.gateway.db(self.cases.begin_sign_in, username, address, self.limits, now)
                if attempt.retry_after > 0:
                    self.lockouts.remember(attempt.locked)
                    return self._locked_out(request, username, now, attempt.retry_after)
                right = await self.checks.check(password, attempt.password_hash)
        except Busy:
            log_event("console_sign_in_refused", logging.WARNING, reason="busy")
            response = self._login_page(request, "The console is busy: try again in a few seconds.", username, 429)
            response.headers["Retry-After"] = "1"
            return response
        result = await self.gateway.db(self.cases.finish_sign_in, attempt, right, self.gateway.clock())
        if result is None:
            locks = {key: until for key, (_, until, _) in attempt.counted.items() if until > 0}
            self.lockouts.remember(locks)
            # no username in the log: people type their password into the wrong field
            log_event("console_sign_in_refused", logging.WARNING, reason="wrong password", lockout=bool(locks))
            return self._login_page(request, "wrong username or password", username, 401)
        self.lockouts.forget(attempt.counted)  # what this attempt locked while it was checked is lifted
        session_token, session = result
        log_event("console_sign_in", operator=session.username)
        response = web.HTTPSeeOther(QUEUE)
        response.set_cookie(COOKIE, session_token, path=QUEUE, max_age=SESSION_SECONDS, httponly=True,
                            secure=self.secure, samesite="Strict")
        response.del_cookie(LOGIN_COOKIE, path=LOGIN)
        raise response

    def _locked_out(self, request: web.Request, username: str, now: float, wait: float) -> web.Response:
        """429 during a lockout: when to try again, in the page and in Retry-After."""
        log_event("console_sign_in_refused", logging.WARNING, reason="locked", seconds=round(wait))
        response = self._login_page(request, f"Too many failed sign-ins: {try_again(now, wait)}", username, 429)
        response.headers["Retry-After"] = retry_after(wait)
        return response

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
                   work: Callable[[int, OperatorSession, MultiDictProxy[str]], Awaitable[str]]) -> web.StreamResponse:
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

    async def _claim(self, case_id: int, me: OperatorSession, form: MultiDictProxy[str]) -> str:
        await self.gateway.db(self.cases.claim, case_id, me)
        return case_url(case_id)

    async def _reply(self, case_id: int, me: OperatorSession, form: MultiDictProxy[str]) -> str:
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

    async def _note(self, case_id: int, me: OperatorSession, form: MultiDictProxy[str]) -> str:
        text = _text(form, "note", MAX_NOTE)
        await self.gateway.db(self.cases.note, case_id, me, text)
        return case_url(case_id)

    async def _close(self, case_id: int, me: OperatorSession, form: MultiDictProxy[str]) -> str:
        await self.gateway.db(self.cases.close_case, case_id, me)
        return QUEUE


def _cookie(request: web.Request, name: str) -> str | None:
    """One of our tokens from a cookie, or None: any other value (a forged one, bytes that are not
    UTF-8, a megabyte) counts as no cookie at all."""
    value = request.cookies.get(name, "")
    return value if TOKEN.fullmatch(value) else None


async def _read_form(request: web.Request) -> MultiDictProxy[str]:
    """A posted form, read strictly: ``Refused`` (400) for a body or a percent-encoded value that is
    not UTF-8, a charset other than UTF-8 or too many fields, 415 for another kind of body. (The
    console's pages post URL-encoded forms, which browsers send in the page's UTF-8.) A POST
    without a body is an empty form."""
    if request.content_type != FORM:
        if request.body_exists and request.content_length != 0:
            raise Refused(415, "Refused: the console takes forms (application/x-www-form-urlencoded). "
                               "Nothing was done.")
        return MultiDictProxy(MultiDict())
    if (request.charset or "utf-8").lower() not in ("utf-8", "utf8"):
        raise Refused(400, "Refused: a form must be sent in UTF-8. Nothing was done.")
    body = await request.read()
    try:
        fields = parse_qsl(body.decode("utf-8"), keep_blank_values=True, encoding="utf-8", errors="strict",
                           max_num_fields=MAX_FIELDS)
    except ValueError:  # UnicodeDecodeError included
        raise Refused(400, "Refused: this form was not valid UTF-8, or had too many fields. "
                           "Nothing was done.") from None
    return MultiDictProxy(MultiDict(fields))


def _text(form: MultiDictProxy[str], action: str, limit: int) -> str:
    text = form.get("text")
    text = text.strip() if text else ""
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
    app.cleanup_ctx.append(routes.password_checks)
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
