"""What every probe module shares: rows, sending, markers' checks, the console's forms, and the
backstop that checks every marker the probes sent."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterable, Mapping

from channels.abuse import signing
from channels.abuse.client import LOGIN_PATH, Console, Reply
from channels.abuse.fakes import MARKUP
from channels.abuse.lab import Lab, Target, settle
from channels.abuse.report import FAIL, PASS, Row

SECTIONS = {"1": "1 auth", "2": "2 input", "3": "3 webchat", "4": "4 console", "5": "5 privacy", "S": "1/2 summary"}
REJECTED = (401, 403)
XSS = MARKUP
CONSOLE_HEADERS = {"Content-Security-Policy": "default-src 'none'", "X-Frame-Options": "DENY",
                   "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
                   "Cache-Control": "no-store", "Cross-Origin-Opener-Policy": "same-origin"}
COOKIE = "rights_console"  # the console's session cookie
VALID = "<the page's own token>"
ARRIVAL_WAIT = 10.0  # how long an accepted message may take to reach the fake Rasa here


class Rows:
    """The rows one probe class produces."""

    def __init__(self, probe_id: str) -> None:
        self.probe_id = probe_id
        self.section = SECTIONS[probe_id.split(".")[0]]
        self.rows: list[Row] = []

    def add(self, probe: str, sent: str, status: Reply | str | int, measurement: str, ok: bool | str,
            note: str = "", failing: str = FAIL) -> None:
        verdict = ok if isinstance(ok, str) else (PASS if ok else failing)
        self.rows.append(Row(self.section, probe, sent, shown_status(status), measurement, verdict, note,
                             self.probe_id))


def shown_status(status: Reply | str | int) -> str:
    if isinstance(status, Reply):
        return str(status.status) if status.status else status.error
    return str(status)


def client_error(reply: Reply) -> bool:
    """A 4xx other than a rate limit: the request was understood and refused."""
    return 400 <= reply.status < 500 and reply.status != 429


async def send(lab: Lab, target: Target, path: str, body: bytes, headers: Mapping[str, str],
               method: str = "POST") -> Reply:
    return await lab.http.request(method, target.url + path, data=body, headers=headers)


async def reached_once(lab: Lab, target: Target, markers: Iterable[str]) -> dict[str, int]:
    """How often each marker reached Rasa, once each has arrived (or ARRIVAL_WAIT ran out)."""
    markers = list(markers)
    await target.rasa.wait_for(markers, ARRIVAL_WAIT)
    await settle(0.5)  # a second copy would follow the first closely
    return {m: target.rasa.count(m) for m in markers}


def refused_rows(rows: Rows, lab: Lab, target: Target, cases: list[tuple[str, str, Reply]], marker: str,
                 allowed: tuple[int, ...] = REJECTED, note: str = "") -> None:
    """One row per refused request; the marker it carried must never reach Rasa."""
    lab.refused.add(marker)
    for label, sent, reply in cases:
        rows.add(label, sent, reply, reply.excerpt(), reply.status in allowed, note)


# the console's forms (the privacy probes open cases too)


async def open_case(lab: Lab, t: Target, console: Console, via: str = "whatsapp", extra: str = "",
                    person: int | None = None) -> int | None:
    """Open a hotline case through ``via`` (the fake Rasa hands off on HANDOFF) and find its number."""
    marker = lab.marker("case")
    text = f"HANDOFF {marker} {extra}".strip()
    if via == "webchat":
        chat = lab.webchat(t)
        session, _ = await chat.session()
        await chat.send(session or "", text)
    else:
        hook = signing.webhook(via, lab.number(), person or lab.person(), text)
        await send(lab, t, hook.path, hook.body, hook.headers)
    lab.accepted.add(marker)
    if not await t.rasa.wait_for([marker], ARRIVAL_WAIT):
        return None
    deadline = time.monotonic() + ARRIVAL_WAIT
    while time.monotonic() < deadline:
        queue = (await console.get("/console")).text
        for number in sorted({int(n) for n in re.findall(r"/console/cases/(\d+)", queue)}, reverse=True):
            if marker in (await console.get(f"/console/cases/{number}")).text:
                return number
        await asyncio.sleep(0.2)
    return None


async def case_action(console: Console, case_id: int, action: str, fields: Mapping[str, str] | None = None,
                      csrf: str | None = VALID, headers: Mapping[str, str] | None = None) -> Reply:
    """POST a case form: with the page's valid CSRF token, another one, or none (None)."""
    form = dict(fields or {})
    if csrf == VALID:
        form.update(await console.form_token(f"/console/cases/{case_id}"))
    elif csrf is not None:
        form["csrf"] = csrf
    return await console.post(f"/console/cases/{case_id}/{action}", form, headers)


def to_login(reply: Reply) -> bool:
    return reply.status in (302, 303) and reply.headers.get("Location", "").endswith(LOGIN_PATH)


# the backstop over every probe


async def nothing_leaked(lab: Lab) -> list[Row]:
    rows = Rows("S.1")
    t = lab.targets.get("main")
    if t is None:
        return rows.rows
    await settle(1.0)
    leaked = sorted(m for m in lab.refused if t.rasa.count(m))
    rows.add("refused requests that reached Rasa", f"{len(lab.refused)} markers", len(leaked),
             ", ".join(leaked)[:100] or "none", not leaked)
    await t.rasa.wait_for(lab.accepted, 3.0)
    wrong = {m: t.rasa.count(m) for m in sorted(lab.accepted) if t.rasa.count(m) != 1}
    rows.add("accepted messages that reached Rasa other than once", f"{len(lab.accepted)} markers", len(wrong),
             json.dumps(wrong)[:100] if wrong else "every one exactly once", not wrong)
    return rows.rows
