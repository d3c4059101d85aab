"""The urgency model: training, its threshold, and its cache as plain arrays.

A multinomial logistic regression on the E5 query vector, with one class per urgent category and
one per near-miss topic (``urgent.yaml``). Near misses as their own classes separate "madam locks
me in" from "can madam stop me going out on my day off" better than a binary model: on a
scenario-disjoint 5-fold split of an earlier version of the data, precision at 97% recall rose
from 0.76 to 0.87 (an SVM, an MLP and k-NN did no better than the linear model). The urgency score
is the summed probability of the urgent classes; the category is the most probable urgent class.

The threshold is chosen on scenario-disjoint out-of-fold predictions so that rules and model
together reach a target recall (missing an emergency costs more than a false alarm).

A trained model is saved as ``urgency.npz`` (no pickle) with the key it was trained for: a hash of
the data, the embedder, this recipe and the rules (``cache_key``). The folder is the caller's
(``Settings.triage_dir``, outside the index folder, which every index build replaces).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from knowledge.embedding.embedders import EmbedderInfo
from knowledge.triage.errors import TriageError
from knowledge.triage.examples import URGENT_PREFIX, Example
from knowledge.triage.rules import UrgencyRules, default_rules

MODEL_FILE = "urgency.npz"
# Bump when the features, classes or training recipe change: it is part of the cache key.
RECIPE = "multinomial-lr-standardized/v2"
# Regularisation of the logistic regression on standardised features. Chosen on the scenario-disjoint
# 5-fold: precision at 97% model recall 0.837 / 0.840 / 0.850 / 0.852 for C = 0.05 / 0.1 / 0.3 / 1;
# standardising makes a fit 3x faster (0.7 s) than the raw vectors with the same precision.
C = 0.5
# Recall of rules + model that the model's threshold is chosen for, on scenario-disjoint out-of-fold
# predictions. Measured there: 0.985 / 0.980 / 0.975 recall at precision 0.79 / 0.84 / 0.86. Missing
# an emergency costs more than a false alarm, but alarms on plain questions wear the hotline out.
TARGET_RECALL = 0.95
FOLDS = 5


@dataclass
class UrgencyModel:
    """A multinomial logistic regression over urgent categories and near-miss topics, as plain arrays."""

    coef: np.ndarray  # (classes, dim)
    intercept: np.ndarray  # (classes,)
    classes: tuple[str, ...]
    threshold: float
    key: str
    report: dict[str, object]

    def __post_init__(self) -> None:
        self._urgent = np.array([c.startswith(URGENT_PREFIX) for c in self.classes])

    @property
    def dim(self) -> int:
        return int(self.coef.shape[1])

    def probabilities(self, vectors: np.ndarray) -> np.ndarray:
        z = np.atleast_2d(vectors).astype(np.float64) @ self.coef.T.astype(np.float64) + self.intercept
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def urgency(self, vectors: np.ndarray) -> tuple[np.ndarray, list[str]]:
        """Summed probability of the urgent classes, and the most probable urgent category, per row."""
        p = self.probabilities(vectors)
        urgent = p[:, self._urgent]
        names = [c[len(URGENT_PREFIX):] for c in np.array(self.classes)[self._urgent]]
        return urgent.sum(axis=1), [names[i] for i in urgent.argmax(axis=1)]

    def topics(self, vectors: np.ndarray) -> list[str]:
        """The most probable class of each row, as its label ("U:violence", "N:wages")."""
        p = self.probabilities(vectors)
        return [self.classes[i] for i in p.argmax(axis=1)]

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / (MODEL_FILE + ".tmp.npz")
        np.savez(tmp, coef=self.coef.astype(np.float32), intercept=self.intercept.astype(np.float32),
                 classes=np.array(self.classes), threshold=np.array([self.threshold]), key=np.array([self.key]),
                 report=np.array([json.dumps(self.report)]))
        tmp.replace(folder / MODEL_FILE)  # a reader never sees half a file

    @classmethod
    def load(cls, folder: Path, key: str) -> UrgencyModel | None:
        """The cached model if it was trained for ``key``; None if absent or stale (then retrain)."""
        path = folder / MODEL_FILE
        if not path.exists():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                if str(data["key"][0]) != key:
                    return None
                return cls(data["coef"], data["intercept"], tuple(str(c) for c in data["classes"]),
                           float(data["threshold"][0]), key, json.loads(str(data["report"][0])))
        except (OSError, KeyError, ValueError) as exc:
            raise TriageError(f"the cached urgency model {path} is unreadable ({exc}); delete it to retrain") from exc


def cache_key(data: Path, info: EmbedderInfo, rules: UrgencyRules) -> str:
    """Hash of the data file, the embedder, the recipe and the rules: a change to any of them retrains.

    The rules are in the key because the model's threshold is chosen for the recall of rules and
    model together.
    """
    digest = hashlib.sha256(Path(data).read_bytes())
    digest.update(json.dumps([info.name, info.model, info.version, info.dim, info.prefixes, RECIPE, C,
                              TARGET_RECALL, FOLDS, rules.patterns], sort_keys=True).encode())
    return digest.hexdigest()


def fit(x: np.ndarray, labels: Sequence[str], c: float = C) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Weights, intercepts and class names of the regression, applying to raw E5 vectors."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    x = np.asarray(x, dtype=np.float64)
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-8
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=3000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit((x - mean) / scale, np.asarray(labels))
    # Fold the standardisation into the weights: the saved model applies to raw E5 vectors.
    coef = model.coef_ / scale
    intercept = model.intercept_ - coef @ mean
    return coef.astype(np.float32), intercept.astype(np.float32), tuple(str(k) for k in model.classes_)


def scenario_folds(examples: Sequence[Example], folds: int) -> np.ndarray:
    """Folds by scenario: every translation of a message (same topic and position) on the same side."""
    return np.array([int(hashlib.sha256(f"{e.urgent}:{e.topic}:{e.position}".encode()).hexdigest(), 16) % folds
                     for e in examples])


def out_of_fold(examples: Sequence[Example], vectors: np.ndarray, folds: int = FOLDS,
                groups: np.ndarray | None = None) -> tuple[np.ndarray, list[str]]:
    """Model urgency scores and categories for every example, each from a model that never saw it."""
    groups = scenario_folds(examples, folds) if groups is None else groups
    labels = [e.label for e in examples]
    scores = np.zeros(len(examples))
    cats: list[str] = [""] * len(examples)
    for g in np.unique(groups):
        test = groups == g
        train_rows = np.flatnonzero(~test)
        coef, intercept, classes = fit(vectors[train_rows], [labels[i] for i in train_rows])
        fold_model = UrgencyModel(coef, intercept, classes, 0.5, "", {})
        s, c = fold_model.urgency(vectors[test])
        scores[test] = s
        for i, cat in zip(np.flatnonzero(test), c, strict=True):
            cats[i] = cat
    return scores, cats


def choose_threshold(scores: np.ndarray, urgent: np.ndarray, covered: np.ndarray | None = None,
                     target: float = TARGET_RECALL) -> float:
    """The highest threshold at which rules (``covered``) or the model reach ``target`` recall.

    The highest, because every step down buys recall with false alarms.
    """
    urgent = np.asarray(urgent, bool)
    covered = np.zeros_like(urgent) if covered is None else np.asarray(covered, bool)
    if not urgent.any():
        raise TriageError("no urgent examples to choose a threshold on")
    allowed = int(np.floor((1.0 - target) * urgent.sum()))  # urgent examples that may be missed
    left = np.sort(scores[urgent & ~covered])  # only the model can catch these
    if left.size <= allowed:
        return 0.99
    return float(np.clip(left[allowed] - 1e-6, 0.01, 0.99))


def train(examples: Sequence[Example], vectors: np.ndarray, key: str = "",
          rules: UrgencyRules | None = None) -> UrgencyModel:
    """Fit on everything; choose the threshold on scenario-disjoint out-of-fold predictions, with the rules."""
    rules = rules if rules is not None else default_rules()
    urgent = np.array([e.urgent for e in examples])
    covered = np.array([rules.match(e.text, e.lang) is not None for e in examples])
    scores, _ = out_of_fold(examples, vectors)
    threshold = choose_threshold(scores, urgent, covered)
    coef, intercept, classes = fit(vectors, [e.label for e in examples])
    pred = covered | (scores >= threshold)
    tp = int((pred & urgent).sum())
    report: dict[str, object] = {
        "examples": len(examples), "urgent": int(urgent.sum()), "threshold": round(threshold, 4),
        "cv_recall": round(tp / max(int(urgent.sum()), 1), 4), "cv_precision": round(tp / max(int(pred.sum()), 1), 4),
    }
    return UrgencyModel(coef, intercept, classes, threshold, key, report)
