"""What the abuse run found, and the Markdown it prints.

Every probe gives rows (section, probe, sent, status, measurement, verdict, note), the shape of
the security report's appendix; a probe class's verdict is its worst row's. The load and fault
runs give one ``LoadRun`` each, the floods one ``Flood`` each. ``markdown`` renders the summary
table (one line per probe class), the load table, the floods, the totals, and every row that did
not pass.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

PASS, RISK, FAIL = "pass", "risk", "FAIL"
SEVERITY = {PASS: 0, RISK: 1, FAIL: 2}


@dataclass
class Row:
    section: str
    probe: str
    sent: str
    status: str
    measurement: str
    verdict: str
    note: str = ""
    probe_id: str = ""


@dataclass
class ProbeClass:
    """One line of the summary: a class of probes and the rows it produced."""

    id: str
    title: str
    rows: list[Row] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def verdict(self) -> str:
        return worst(row.verdict for row in self.rows) if self.rows else FAIL

    def result(self, limit: int = 110) -> str:
        """Statuses seen, then what the first row that did not pass (or the only row) measured."""
        statuses = Counter(row.status for row in self.rows if row.status)
        text = ", ".join(f"{status} ×{n}" if n > 1 else status for status, n in statuses.most_common(6))
        first_bad = next((row for row in self.rows if row.verdict != PASS), None)
        shown = first_bad or (self.rows[0] if len(self.rows) == 1 else None)
        if shown is not None and shown.measurement:
            text = f"{text}; {shown.probe}: {shown.measurement}" if text else shown.measurement
        return cut(text or "no rows", limit)


@dataclass
class LoadRun:
    run: str
    fault: str
    sent: int | None = None
    http_200: int | None = None
    failed_attempts: int | None = None
    resent_requests: int | None = None
    rasa_unique: int | None = None
    rasa_twice: int | None = None
    lost: int | None = None
    replies_unique: int | None = None
    replies_twice: int | None = None
    answer_ms: tuple[float, float, float, float] | None = None  # p50, p95, p99, max
    to_rasa_ms: tuple[float, float] | None = None  # p50, p95
    verdict: str = FAIL
    note: str = ""
    seconds: float = 0.0

    def row(self) -> Row:
        return Row("6 load", f"run {self.run}: {self.fault}", f"{self.sent} webhooks" if self.sent else "",
                   f"{self.http_200} × 200" if self.http_200 is not None else "",
                   self.summary(), self.verdict, self.note, "6." + self.run)

    def summary(self) -> str:
        if self.sent is None:
            return self.note
        return (f"rasa {self.rasa_unique}/{self.sent} twice {self.rasa_twice} lost {self.lost}; "
                f"replies {self.replies_unique} twice {self.replies_twice}")


@dataclass
class Flood:
    """WhatsApp's latency while someone floods another surface (the fake Rasa at ≈22 msg/s)."""

    id: str
    name: str
    flood: str  # what the flood sent, and what it got back
    without: tuple[float, float, float] | None = None  # webhook -> Rasa p50, p95, max (ms)
    during: tuple[float, float, float] | None = None
    answer_during: tuple[float, float, float] | None = None  # webhook answer p50, p95, max
    reply_during: tuple[float, float] | None = None  # webhook -> reply at the platform p50, p95
    target_ms: float = 2000.0
    verdict: str = FAIL
    note: str = ""


def worst(verdicts: Iterable[str]) -> str:
    return max(verdicts, key=lambda v: SEVERITY.get(v, 2), default=PASS)


def cut(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def cell(text: Any, limit: int = 110) -> str:
    """A table cell: one line, pipes and angle brackets escaped."""
    return cut(str(text), limit).replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def ms(values: Sequence[float] | None) -> str:
    if not values:
        return "–"
    return " / ".join(f"{v:,.0f}" if v >= 10 else f"{v:.1f}" for v in values)


def shown(verdict: str) -> str:
    return f"**{verdict}**" if verdict == FAIL else verdict


@dataclass
class Results:
    profile: str
    classes: list[ProbeClass] = field(default_factory=list)
    load: list[LoadRun] = field(default_factory=list)
    floods: list[Flood] = field(default_factory=list)
    seconds: float = 0.0
    gateway_python: str = ""
    aiohttp: str = ""

    def rows(self) -> list[Row]:
        return [row for c in self.classes for row in c.rows] + [run.row() for run in self.load]

    def totals(self) -> dict[str, int]:
        counted = Counter(row.verdict for row in self.rows())
        return {verdict: counted.get(verdict, 0) for verdict in (PASS, FAIL, RISK)}

    def to_json(self) -> dict[str, Any]:
        return {"profile": self.profile, "seconds": round(self.seconds, 1), "gateway_python": self.gateway_python,
                "aiohttp": self.aiohttp, "totals": self.totals(),
                "classes": [{"id": c.id, "title": c.title, "verdict": c.verdict, "seconds": round(c.seconds, 1),
                             "rows": [asdict(row) for row in c.rows]} for c in self.classes],
                "load": [asdict(run) for run in self.load], "floods": [asdict(f) for f in self.floods]}

    def write_json(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), indent=1, ensure_ascii=False) + "\n")


def markdown(results: Results, every_row: bool = False) -> str:
    out: list[str] = [f"# Abuse run ({results.profile}; gateway on aiohttp {results.aiohttp or '?'}, "
                      f"{results.seconds:.0f} s)", ""]
    if results.classes:
        out += ["## Probes (one line per probe class)", "", "| # | probe | result | verdict |", "|---|---|---|---|"]
        out += [f"| {c.id} | {cell(c.title, 140)} | {cell(c.result())} | {shown(c.verdict)} |" for c in results.classes]
        out.append("")
    if results.load:
        out += ["## Load and fault runs", "",
                "| run | fault | sent | HTTP 200 | failed attempts (requests) | reached Rasa (unique) "
                "| sent to Rasa twice | lost | replies (unique) | replies twice "
                "| webhook answer p50 / p95 / p99 / max ms | webhook → Rasa p50 / p95 ms | verdict |",
                "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for run in results.load:
            if run.sent is None:
                out.append(f"| {run.run} | {cell(run.fault)} | – | – | – | – | – | – | – | – | {cell(run.note, 160)} "
                           f"| – | {shown(run.verdict)} |")
                continue
            failed = f"{run.failed_attempts} ({run.resent_requests})"
            out.append(f"| {run.run} | {cell(run.fault)} | {run.sent} | {run.http_200} | {failed} "
                       f"| {run.rasa_unique} | {run.rasa_twice} | {run.lost} | {run.replies_unique} "
                       f"| {run.replies_twice} | {ms(run.answer_ms)} | {ms(run.to_rasa_ms)} | {shown(run.verdict)} |")
        notes = [f"- {run.run}: {run.note}" for run in results.load if run.note and run.sent is not None]
        out += ["", *notes, ""] if notes else [""]
    if results.floods:
        out += ["## Floods (WhatsApp beside them; fake Rasa at ≈22 msg/s)", "",
                "| # | flood | what it sent and got | WhatsApp → Rasa p50 / p95 / max ms, without | during | "
                "webhook answer during | reply at the platform p50 / p95 | target p95 | verdict |",
                "|---|---|---|---|---|---|---|---|---|"]
        out += [f"| {f.id} | {cell(f.name)} | {cell(f.flood, 160)} | {ms(f.without)} | {ms(f.during)} | "
                f"{ms(f.answer_during)} | {ms(f.reply_during)} | < {f.target_ms:,.0f} | {shown(f.verdict)} |"
                for f in results.floods]
        out.append("")
    totals = results.totals()
    by_class = Counter(c.verdict for c in results.classes)
    out += ["## Totals", "",
            f"- rows: {totals[PASS]} pass, {totals[FAIL]} FAIL, {totals[RISK]} risk "
            f"({sum(totals.values())} in all)",
            f"- probe classes: {by_class.get(PASS, 0)} pass, {by_class.get(FAIL, 0)} FAIL, "
            f"{by_class.get(RISK, 0)} risk",
            "- load runs: " + (", ".join(f"{run.run} {run.verdict}" for run in results.load) or "none"), ""]
    wrong = [row for row in results.rows() if row.verdict != PASS]
    if wrong:
        out += ["## Rows that did not pass", "", "| # | probe | sent | status | measurement | verdict | note |",
                "|---|---|---|---|---|---|---|"]
        out += [_row_line(row) for row in wrong]
        out.append("")
    if every_row:
        out += ["## Every row", "", "| # | section | probe | sent | status | measurement | verdict | note |",
                "|---|---|---|---|---|---|---|---|"]
        out += [f"| {row.probe_id} | {row.section} | {cell(row.probe)} | {cell(row.sent, 70)} "
                f"| {cell(row.status, 40)} | {cell(row.measurement, 140)} | {shown(row.verdict)} "
                f"| {cell(row.note, 120)} |" for row in results.rows()]
        out.append("")
    return "\n".join(out)


def _row_line(row: Row) -> str:
    return (f"| {row.probe_id} | {cell(row.probe)} | {cell(row.sent, 70)} | {cell(row.status, 40)} | "
            f"{cell(row.measurement, 140)} | {shown(row.verdict)} | {cell(row.note, 120)} |")
