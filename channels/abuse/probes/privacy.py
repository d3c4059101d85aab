"""Section 5: what the gateway keeps in its logs and on disk, and who may read it."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from channels.abuse import signing
from channels.abuse.lab import Lab, Target, settle
from channels.abuse.probes.common import (
    ARRIVAL_WAIT,
    Rows,
    open_case,
    send,
)
from channels.abuse.report import RISK, Row
from channels.abuse.signing import signed


def _scan(directory: Path, needles: Iterable[str], skip_logs: bool = False) -> dict[str, list[str]]:
    """Which files under ``directory`` hold each needle (raw bytes: SQLite's -wal and -shm too)."""
    found: dict[str, list[str]] = {}
    needles = list(needles)
    for path in sorted(directory.rglob("*")):
        if not path.is_file() or (skip_logs and path.suffix == ".log"):
            continue
        data = path.read_bytes()
        for needle in needles:
            if needle.encode() in data:
                found.setdefault(needle, []).append(path.name)
    return found


async def _one_of_each(lab: Lab, t: Target, tag: str) -> tuple[list[str], list[str]]:
    """A message from a new person on every channel; (their addresses, the texts' markers)."""
    addresses, markers = [], []
    for platform in signing.PLATFORMS:
        person = lab.person() + 9_000_000
        marker = lab.marker(f"{tag}-{platform}")
        hook = signing.webhook(platform, lab.number(), person, marker)
        await send(lab, t, hook.path, hook.body, hook.headers)
        addresses.append(signing.user_id(platform, person))
        markers.append(marker)
    chat = lab.webchat(t)
    session, _ = await chat.session()
    marker = lab.marker(f"{tag}-webchat")
    await chat.send(session or "", marker)
    addresses.append(session or "")
    markers.append(marker)
    lab.accepted.update(markers)
    await t.rasa.wait_for(markers, ARRIVAL_WAIT)
    await settle(1.0)  # replies out, logs written
    return [a for a in addresses if a], markers


async def identifiers_at_rest(lab: Lab) -> list[Row]:
    rows, t = Rows("5.1"), await lab.target("main")
    addresses, _ = await _one_of_each(lab, t, "privacy")
    found = _scan(t.site.var_dir, addresses)
    senders = {call.who for call in t.rasa.calls}
    at_rasa = [a for a in addresses if any(a in s for s in senders)]
    rows.add("addresses and web chat sessions in the logs and every database file (-wal, -shm too)",
             f"{len(addresses)} addresses", len(found), json.dumps(found)[:120] if found else "0 occurrences",
             not found, "only sealed or pseudonymised")
    rows.add("addresses that reached Rasa", f"{len(addresses)} addresses", len(at_rasa),
             "Rasa sees pseudonyms only" if not at_rasa else ", ".join(at_rasa)[:80], not at_rasa)
    return rows.rows


async def texts_in_logs(lab: Lab) -> list[Row]:
    rows, t = Rows("5.2"), await lab.target("main")
    _, markers = await _one_of_each(lab, t, "logtext")
    logs = {path.name: path.read_text(errors="replace") for path in t.site.logs()}
    found = {m: [name for name, text in logs.items() if m in text] for m in markers}
    found = {m: names for m, names in found.items() if names}
    rows.add("message texts in the gateway's log", f"{len(markers)} texts", len(found),
             json.dumps(found)[:120] if found else "0 occurrences", not found)
    return rows.rows


async def texts_at_rest(lab: Lab) -> list[Row]:
    rows, t = Rows("5.3"), await lab.target("main")
    alice = await lab.operator(t, "alice")
    case_marker = lab.marker("rest-case")
    case_id = await open_case(lab, t, alice, extra=case_marker)
    chat = lab.webchat(t)
    session, _ = await chat.session()
    reply_marker = lab.marker("rest-webchat")
    await chat.send(session or "", reply_marker)
    lab.accepted.add(reply_marker)
    await settle(1.0)
    found = _scan(t.site.var_dir, [case_marker, reply_marker], skip_logs=True)
    rows.add("an open case's transcript, at rest", f"case {case_id}", len(found.get(case_marker, [])),
             ", ".join(found.get(case_marker, [])) or "sealed", case_marker not in found,
             "sealed, or a documented reason", failing=RISK)
    rows.add("web chat replies in the mailbox, at rest", "echo of a web chat message",
             len(found.get(reply_marker, [])), ", ".join(found.get(reply_marker, [])) or "sealed",
             reply_marker not in found, "sealed like addresses", failing=RISK)
    return rows.rows


async def forget_after_case(lab: Lab) -> list[Row]:
    rows, t = Rows("5.4"), await lab.target("main")
    alice = await lab.operator(t, "alice")
    person = lab.person()
    words = lab.marker("forget")
    case_id = await open_case(lab, t, alice, extra=words, person=person)
    forget = lab.marker("forget-me")
    hook = signing.webhook("whatsapp", lab.number(), person, f"FORGET {forget}")
    await send(lab, t, hook.path, hook.body, hook.headers)
    lab.accepted.add(forget)
    await t.rasa.wait_for([forget], ARRIVAL_WAIT)
    await settle(1.5)
    page = await alice.get(f"/console/cases/{case_id}") if case_id else None
    rows.add("'delete my data' after a case: the case", f"case {case_id}, then FORGET", page or "no case",
             "gone" if page and page.status == 404 else "still shown" if page else "no case was opened",
             page is not None and page.status == 404, "deleted with everything else")
    found = _scan(t.site.var_dir, [words, forget], skip_logs=True)
    rows.add("'delete my data' after a case: the bytes on disk", "its words, raw", sum(map(len, found.values())),
             json.dumps(found) if found else "0 bytes left", not found, "nothing left in any database file")
    return rows.rows


async def file_permissions(lab: Lab) -> list[Row]:
    rows, t = Rows("5.5"), await lab.target("main")
    loose = {}
    for path in sorted(t.site.var_dir.iterdir()):
        if path.is_file() and path.suffix != ".log":
            mode = path.stat().st_mode & 0o777
            if mode & 0o077:
                loose[path.name] = oct(mode)
    rows.add("database files readable by others", "stat var/*", len(loose),
             json.dumps(loose) if loose else "all 0600", not loose, "created 0600", failing=RISK)
    return rows.rows


async def telegram_log_lines(lab: Lab) -> list[Row]:
    rows, t = Rows("5.6"), await lab.target("main")
    log = t.site.current.log
    for label, update in (("unknown update key of 5,000 characters",
                           {"update_id": 900_000_000 + lab.number(), "k" * 5000: {}}),
                          ("group chat whose chat.type has 5,000 characters",
                           {"update_id": 900_000_000 + lab.number(), "message": {
                               "message_id": 1, "date": 1, "text": "hi", "from": {"id": 5, "is_bot": False},
                               "chat": {"id": -5, "type": "g" * 5000}}})):
        offset = log.stat().st_size
        body = json.dumps(update).encode()
        reply = await send(lab, t, "/webhooks/telegram", body, signed("telegram", body))
        await settle(0.3)
        with log.open("rb") as handle:
            handle.seek(offset)
            longest = max((len(line) for line in handle.read().splitlines()), default=0)
        rows.add(f"telegram (signed): {label}", f"{len(body):,} bytes", reply, f"longest new log line {longest} chars",
                 longest < 1000, "strings from a webhook are capped in the log", failing=RISK)
    return rows.rows
