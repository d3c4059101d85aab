"""Is this message a rights question at all? A small classifier on the query's E5 vector.

A similarity threshold alone cannot separate "tell me a joke" from a rights question well:
chat messages of any kind land at similar cosine scores against a corpus about workers' lives.
A linear model on the multilingual sentence vector learns the topic boundary once and carries
it across languages. It is trained when the index is built, on the corpus's typical questions
and the calibration messages (in scope) against everyday chat messages (out of scope), and saved
beside the index as plain arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

FILE = "scope.npz"


@dataclass
class ScopeModel:
    coef: np.ndarray
    intercept: float
    threshold: float

    def probability(self, vectors: np.ndarray) -> np.ndarray:
        z = np.atleast_2d(vectors) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    def in_scope(self, vector: np.ndarray) -> tuple[bool, float]:
        p = float(self.probability(vector)[0])
        return p >= self.threshold, p

    def save(self, folder: Path) -> None:
        np.savez(folder / FILE, coef=self.coef, intercept=np.array([self.intercept]),
                 threshold=np.array([self.threshold]))

    @classmethod
    def load(cls, folder: Path) -> ScopeModel | None:
        path = folder / FILE
        if not path.exists():
            return None
        data = np.load(path)
        return cls(data["coef"], float(data["intercept"][0]), float(data["threshold"][0]))


def _fit(x: np.ndarray, y: np.ndarray, c: float) -> tuple[np.ndarray, float]:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, class_weight="balanced", max_iter=2000)
    model.fit(x, y)
    return model.coef_[0].astype(np.float32), float(model.intercept_[0])


def train(inside: np.ndarray, outside: np.ndarray, c: float = 1.0, folds: int = 5,
          seed: int = 0) -> tuple[ScopeModel, dict[str, float]]:
    """Fit on everything; choose the probability threshold on out-of-fold predictions."""
    x = np.vstack([inside, outside]).astype(np.float32)
    y = np.concatenate([np.ones(len(inside)), np.zeros(len(outside))])
    order = np.random.default_rng(seed).permutation(len(y))
    oof = np.zeros(len(y))
    for k in range(folds):
        test = order[k::folds]
        train_rows = np.setdiff1d(order, test)
        coef, intercept = _fit(x[train_rows], y[train_rows], c)
        oof[test] = 1.0 / (1.0 + np.exp(-(x[test] @ coef + intercept)))
    best_t, best_acc = 0.5, -1.0
    for t in np.linspace(0.05, 0.95, 91):
        acc = ((oof[y == 1] >= t).mean() + (oof[y == 0] < t).mean()) / 2
        if acc > best_acc + 1e-9:
            best_t, best_acc = float(t), float(acc)
    coef, intercept = _fit(x, y, c)
    report = {
        "in_scope_examples": len(inside),
        "out_of_scope_examples": len(outside),
        "cv_balanced_accuracy": round(best_acc, 4),
        "cv_in_scope_kept": round(float((oof[y == 1] >= best_t).mean()), 4),
        "cv_out_of_scope_refused": round(float((oof[y == 0] < best_t).mean()), 4),
        "threshold": round(best_t, 3),
    }
    return ScopeModel(coef, intercept, best_t), report
