"""The console's pages: pure functions from data to HTML, rendered from templates/ with Jinja2.

Autoescaping is on for every template, so everything shown is escaped unless it is marked safe
here (only the CSRF field and the alert box, built from escaped parts): the transcript and the
summary are what a stranger typed. The pages carry no script, so the Content-Security-Policy can
forbid scripts altogether.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from channels.cases import Case, CaseMessage, OperatorSession
from channels.store import ParkedRow

LOGIN, QUEUE = "/console/login", "/console"
STYLESHEET = "console.css"
CSRF_FIELD = "csrf"
REFRESH_SECONDS = 20  # the queue page reloads itself this often
MAX_USERNAME = 64  # as the operators table allows
MAX_REPLY = 2000  # characters an operator may send at once (the channel splits it to its own limits)
MAX_NOTE = 4000
AUTHORS = {"person": "Person", "bot": "Assistant", "operator": "Operator", "note": "Internal note"}
QUEUES = {"inbox": "message from a person", "outbox": "reply to a person"}


def case_url(case_id: int) -> str:
    return f"/console/cases/{case_id}"


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
    return datetime.fromtimestamp(float(timestamp), timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def try_again(now: float, wait: float) -> str:
    """When a locked-out sign-in may be tried again, to the second (a lockout may be 30 s)."""
    at = datetime.fromtimestamp(float(now + wait), timezone.utc).strftime("%H:%M:%S")
    seconds = max(1, round(wait))
    return f"try again after {at} UTC (in {age(seconds) if seconds >= 60 else f'{seconds} seconds'})."


def level(urgency: int) -> str:
    """The colour band of an urgency rank (channels.directives: higher is more urgent)."""
    return "high" if urgency >= 8 else "medium" if urgency >= 6 else "low"


# What staff read instead of codes. The gateway imports nothing of the knowledge core, whose
# vocabulary names the same categories and languages (tests/channels/console/test_pages.py checks
# that every category an action can send has a name here).
CATEGORY_NAMES = {
    "detention": "Detention", "documents": "Documents taken", "locked_in": "Locked in",
    "trafficking": "Trafficking or forced labour", "violence": "Violence", "medical": "Medical emergency",
    "child_alone": "Child alone", "deportation": "Imminent deportation", "self_harm": "Self-harm",
    "urgent": "Danger (kind not known)", "request": "Asked for a person", "": "Asked for a person",
}  # fmt: skip
LANGUAGE_NAMES = {
    "en": "English", "es": "Spanish", "fr": "French", "ar": "Arabic", "pt": "Portuguese", "id": "Indonesian",
    "th": "Thai", "zh": "Chinese", "vi": "Vietnamese", "sw": "Swahili", "hi": "Hindi", "tl": "Tagalog",
    "ru": "Russian", "bn": "Bengali", "ne": "Nepali", "ur": "Urdu",
}  # fmt: skip


def category_name(code: str) -> str:
    return CATEGORY_NAMES.get(code, code.replace("_", " "))


def language_name(code: str) -> str:
    """"Nepali (ne)": the name, and the code an NGO's routing may use."""
    return f"{LANGUAGE_NAMES[code]} ({code})" if code in LANGUAGE_NAMES else code


def csrf_input(me: OperatorSession) -> Markup:
    return Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, me.csrf)


def alert(message: str) -> Markup:
    return Markup('<p class="alert" role="alert">{}</p>').format(message) if message else Markup("")


def status_text(case: Case, names: Mapping[int, str], me: OperatorSession) -> str:
    if case.status == "claimed":
        who = "you" if case.operator_id == me.operator_id else names.get(case.operator_id or 0, "another operator")
        return f"claimed by {who}"
    return case.status


_templates = Environment(loader=PackageLoader("channels.console", "templates"), autoescape=True,
                         undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
_templates.globals.update(
    csrf=csrf_input, alert=alert, case_url=case_url, age=age, when=when, level=level, queue_url=QUEUE,
    category_name=category_name, language_name=language_name,
    login_url=LOGIN, stylesheet=f"/console/static/{STYLESHEET}", refresh_seconds=REFRESH_SECONDS, refresh=False)


def _render(template: str, title: str, me: OperatorSession | None, **values: Any) -> str:
    return _templates.get_template(template).render(title=title, me=me, **values)


def login_page(error: str = "", username: str = "", token: str = "") -> str:
    """The sign-in form; ``token`` is its CSRF token (the same as its cookie's)."""
    return _render("login.html", "Sign in", None, error=error, username=username, max_username=MAX_USERNAME,
                   token=token, csrf_field=CSRF_FIELD)


def error_page(message: str, me: OperatorSession | None = None) -> str:
    return _render("error.html", "Refused", me, message=message)


def queue_page(me: OperatorSession, waiting: list[Case], names: Mapping[int, str], now: float,
               parked: int = 0) -> str:
    return _render("queue.html", "Queue", me, waiting=waiting, names=names, now=now, parked=parked, refresh=True)


def case_page(me: OperatorSession, case: Case, transcript: list[CaseMessage], names: Mapping[int, str],
              now: float, error: str = "", drafts: Mapping[str, str] | None = None) -> str:
    facts = (("Category", category_name(case.category)), ("Topic", case.topic or "—"),
             ("Language", language_name(case.language)),
             ("Channel", case.channel), ("Opened", f"{when(case.created)} ({age(now - case.created)} ago)"),
             ("Status", status_text(case, names, me)))
    mine = case.status == "claimed" and case.operator_id == me.operator_id
    return _render("case.html", f"Case {case.id}", me, case=case, transcript=transcript, facts=facts, error=error,
                   drafts=drafts or {}, mine=mine, url=case_url(case.id), authors=AUTHORS, max_reply=MAX_REPLY,
                   max_note=MAX_NOTE)


def audit_page(me: OperatorSession, rows: list[dict[str, Any]], limit: int) -> str:
    return _render("audit.html", "Audit log", me, rows=rows, limit=limit)


def failed_page(me: OperatorSession, rows: list[ParkedRow], limit: int) -> str:
    return _render("failed.html", "Failed", me, rows=rows, limit=limit, queues=QUEUES)

