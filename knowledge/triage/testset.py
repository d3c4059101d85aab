"""The urgency evaluation set: messages written for measuring triage, never for training it.

``knowledge/content/eval/urgency/<lang>.jsonl`` holds, for each of the fifteen languages of the
development set, urgent messages (danger now, one of the nine categories) and near misses (the
same words without a present danger: past events, questions about the rules, someone else's
situation, and the common non-emergencies: overstaying, unpaid wages, a passport kept by the
employer, a contract in a foreign language, fees, an expiring permit). Nothing here is read by
``train`` or by the rules; ``tests/knowledge/triage/test_testset.py`` checks that no message of
the set is also in the training data.

A decision is the category the assistant acted on (None: no alarm). Scoring counts a wrong
category as a miss of the right one and as a false alarm of the wrong one, so a passport
question answered with the self-harm steps costs both.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from knowledge.errors import KnowledgeError
from knowledge.vocab import FALLBACK_CATEGORY, URGENCY_CATEGORIES

SET_DIR = Path(__file__).resolve().parents[1] / "content" / "eval" / "urgency"
NEAR_MISSES: tuple[str, ...] = (
    "past_event", "rule_question", "someone_else", "overstay", "wages", "kept_passport",
    "contract_language", "fees", "permit_expiring", "everyday",
)  # fmt: skip
NONE = "-"  # no alarm, as the tables show it
# What every category must reach in every language.
RECALL_TARGET, PRECISION_TARGET = 0.95, 0.9


class UrgencySetError(KnowledgeError):
    """The evaluation set is malformed (the message names the file and line)."""


@dataclass(frozen=True)
class Labelled:
    id: str
    lang: str
    text: str
    category: str | None  # urgent: one of URGENCY_CATEGORIES; a near miss: None
    near_miss: str | None  # a near miss: one of NEAR_MISSES
    soon: bool  # a non-emergency that still needs help soon (kept passport, unpaid wages, a permit ending)


def load_set(path: Path = SET_DIR) -> list[Labelled]:
    """Every message of the set (a folder of ``<lang>.jsonl`` files, or one file), checked."""
    files = sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
    if not files or not all(f.is_file() for f in files):
        raise UrgencySetError(f"no urgency evaluation set at {path} (expected <lang>.jsonl files)")
    items: list[Labelled] = []
    seen: set[str] = set()
    for file in files:
        for number, line in enumerate(file.read_text("utf-8").splitlines(), 1):
            if not line.strip():
                continue
            where = f"{file.name}:{number}"
            try:
                raw = json.loads(line)
            except json.JSONDecodeError as exc:
                raise UrgencySetError(f"{where}: not JSON ({exc.msg})") from None
            item = _labelled(raw, where)
            if item.id in seen:
                raise UrgencySetError(f"{where}: id {item.id} appears twice")
            seen.add(item.id)
            items.append(item)
    return items


def _labelled(raw: Any, where: str) -> Labelled:
    if not isinstance(raw, dict):
        raise UrgencySetError(f"{where}: each line must be a JSON object")
    for key in ("id", "lang", "text"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise UrgencySetError(f"{where}: '{key}' must be a non-empty string")
    category, near_miss = raw.get("category"), raw.get("near_miss")
    if category is not None and category not in URGENCY_CATEGORIES:
        raise UrgencySetError(f"{where}: unknown category {category!r} (one of {', '.join(URGENCY_CATEGORIES)})")
    if near_miss is not None and near_miss not in NEAR_MISSES:
        raise UrgencySetError(f"{where}: unknown near_miss {near_miss!r} (one of {', '.join(NEAR_MISSES)})")
    if (category is None) == (near_miss is None):
        raise UrgencySetError(f"{where}: give exactly one of 'category' (urgent) and 'near_miss'")
    soon = raw.get("soon", False)
    if not isinstance(soon, bool) or (soon and category is not None):
        raise UrgencySetError(f"{where}: 'soon' must be true or false, and false for an urgent message")
    return Labelled(raw["id"], raw["lang"], raw["text"], category, near_miss, soon)


@dataclass(frozen=True)
class Counts:
    tp: int = 0
    fn: int = 0  # missed, or given another category
    fp: int = 0  # an alarm of this category on a near miss or on another category's message

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None


def _counts(pairs: Sequence[tuple[str | None, str | None]], category: str | None = None) -> Counts:
    """Counts for one category, or for "urgent in the right category" when ``category`` is None."""
    tp = fn = fp = 0
    for gold, got in pairs:
        if category is None:
            tp += gold is not None and got == gold
            fn += gold is not None and got != gold
            fp += got is not None and got != gold
        else:
            tp += gold == category and got == category
            fn += gold == category and got != category
            fp += got == category and gold != category
    return Counts(tp, fn, fp)


def score(items: Sequence[Labelled], decisions: Sequence[str | None]) -> dict[str, Any]:
    """Recall, precision and the confusion matrix, overall, per language and per category."""
    if len(items) != len(decisions):
        raise UrgencySetError("one decision per message is needed")
    pairs = [(item.category, got) for item, got in zip(items, decisions, strict=True)]
    langs = list(dict.fromkeys(item.lang for item in items))

    def block(selected: list[tuple[str | None, str | None]]) -> dict[str, Any]:
        near = [p for p in selected if p[0] is None]
        return {"all": _row(_counts(selected)),
                "categories": {c: _row(_counts(selected, c)) for c in URGENCY_CATEGORIES},
                "near_misses": len(near), "false_alarms": sum(got is not None for _, got in near),
                "wrong_category": sum(g is not None and got is not None and got != g for g, got in selected),
                "confusion": confusion(selected)}

    report: dict[str, Any] = {"n": len(items), "overall": block(pairs),
                              "languages": {lang: block([p for p, i in zip(pairs, items, strict=True)
                                                         if i.lang == lang]) for lang in langs}}
    alarms = Counter(item.near_miss for item, got in zip(items, decisions, strict=True)
                     if item.near_miss and got is not None)
    totals = Counter(item.near_miss for item in items if item.near_miss)
    report["near_miss_alarms"] = {kind: [alarms[kind], totals[kind]] for kind in NEAR_MISSES if totals[kind]}
    return report


def _row(counts: Counts) -> dict[str, Any]:
    return {"tp": counts.tp, "fn": counts.fn, "fp": counts.fp,
            "recall": None if counts.recall is None else round(counts.recall, 3),
            "precision": None if counts.precision is None else round(counts.precision, 3)}


def confusion(pairs: Sequence[tuple[str | None, str | None]]) -> dict[str, dict[str, int]]:
    """{gold: {decision: count}}, with "-" for no alarm (gold: a near miss)."""
    columns = [*URGENCY_CATEGORIES, FALLBACK_CATEGORY, NONE]
    matrix = {gold: dict.fromkeys(columns, 0) for gold in [*URGENCY_CATEGORIES, NONE]}
    for gold, got in pairs:
        column = got if got in matrix[NONE] else (NONE if got is None else FALLBACK_CATEGORY)
        matrix[gold or NONE][column] += 1
    return matrix


def _figure(value: float | None) -> str:
    return "  –  " if value is None else f"{value:.3f}"


def format_report(report: dict[str, Any], matrices: bool = False) -> str:
    """The tables ``rights triage eval --set`` prints (Markdown, so they paste into a note)."""
    cats = URGENCY_CATEGORIES
    out = [f"Urgency evaluation set: {report['n']} messages, {len(report['languages'])} languages. "
           "A wrong category counts as a miss and as a false alarm.", "",
           "| lang | recall | precision | false alarms on near misses | wrong category | lowest category recall |"
           " lowest category precision |", "|---|---|---|---|---|---|---|"]
    for lang, block in [*report["languages"].items(), ("all", report["overall"])]:
        rec = [(v["recall"], c) for c, v in block["categories"].items() if v["recall"] is not None]
        pre = [(v["precision"], c) for c, v in block["categories"].items() if v["precision"] is not None]
        low_r = min(rec) if rec else None
        low_p = min(pre) if pre else None
        out.append(f"| {lang} | {_figure(block['all']['recall'])} | {_figure(block['all']['precision'])} | "
                   f"{block['false_alarms']}/{block['near_misses']} | {block['wrong_category']} | "
                   f"{'–' if low_r is None else f'{low_r[0]:.3f} {low_r[1]}'} | "
                   f"{'–' if low_p is None else f'{low_p[0]:.3f} {low_p[1]}'} |")
    out += ["", f"Per category, all languages (and the languages where it falls below recall {RECALL_TARGET} or "
            f"precision {PRECISION_TARGET}):", "",
            "| category | recall | precision | tp | missed | false alarms | below target in |",
            "|---|---|---|---|---|---|---|"]
    for c in cats:
        v = report["overall"]["categories"][c]
        weak = [lang for lang, block in report["languages"].items() if _below(block["categories"][c])]
        out.append(f"| {c} | {_figure(v['recall'])} | {_figure(v['precision'])} | {v['tp']} | {v['fn']} | "
                   f"{v['fp']} | {' '.join(weak) or '–'} |")
    out += ["", "False alarms by kind of near miss:", "",
            "| near miss | alarms |", "|---|---|"]
    out += [f"| {kind} | {a}/{n} |" for kind, (a, n) in report["near_miss_alarms"].items()]
    out += ["", "Confusion matrix, all languages (rows: what the message is; columns: what the "
            f"assistant did; {FALLBACK_CATEGORY} = the generic danger steps, {NONE} = no alarm):", ""]
    out += _matrix(report["overall"]["confusion"])
    if matrices:
        for lang, block in report["languages"].items():
            out += ["", f"Confusion matrix, {lang}:", ""]
            out += _matrix(block["confusion"])
    return "\n".join(out)


def _below(row: dict[str, Any]) -> bool:
    """A category's figures in one language under the issue's targets."""
    recall, precision = row["recall"], row["precision"]
    return (recall is not None and recall < RECALL_TARGET) or (precision is not None and precision < PRECISION_TARGET)


def _matrix(matrix: dict[str, dict[str, int]]) -> list[str]:
    if not matrix:
        return []
    columns = list(next(iter(matrix.values())))
    short = {c: c.replace("_", " ")[:9] for c in columns}
    lines = ["| | " + " | ".join(short[c] for c in columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for gold, row in matrix.items():
        lines.append(f"| {gold} | " + " | ".join(str(row[c]) if row[c] else "·" for c in columns) + " |")
    return lines

