"""Is the person in danger now? The run-time urgency detector: rules plus the model.

Either signal makes a message urgent. ``warm_up`` loads the cached model from the folder the
caller owns (``Settings.triage_dir``) or trains and saves it there; ``detect`` is then cheap, and
takes the message's query vector when the caller already has it (the retriever embeds every
message), so the message is embedded once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from knowledge.embedding.embedders import Embedder
from knowledge.triage.errors import TriageError
from knowledge.triage.examples import DATA_FILE, NOT_URGENT_PREFIX, load_examples
from knowledge.triage.model import UrgencyModel, cache_key, train
from knowledge.triage.rules import UrgencyRules, default_rules
from knowledge.vocab import ARTICLE_WORD, SOON_TOPICS

# A question whether something was allowed, with no sign that the danger is now, is a question
# about the rules: the model must be this sure to call it urgent. Measured: the asking tables
# (urgency_rules.yaml) turned five false alarms on the development set into questions without
# losing an emergency (see README).
ASKING_THRESHOLD = 0.9
_DIGIT = re.compile(r"[0-9٠-٩۰-۹०-९০-৯]")


# A message that only names a provision ("article 16", "art. 21", "artículo 30", "المادة 16", "第16条",
# "16"): a request to read it, never an emergency, whatever the model makes of so few words.
CITATION_ONLY = re.compile(
    r"^\W*(?:(?:art(?:icle|[ií]culo|igo|ikulo|\.)?|статья|ст\.?|المادة|مادة|madde|pasal|điều|anuch(?:c?h)?h?ed|มาตรา|अनुच्छेद|ধারা|অনুচ্ছেদ|धारा|آرٹیکل|دفعہ)\s*)?"
    r"(?:第\s*)?[0-9٠-٩۰-۹०-९০-৯]{1,2}\s*(?:条)?\W*$",
    re.IGNORECASE,
)

@dataclass(frozen=True)
class Urgency:
    """The decision for one message; ``reason`` says which signal decided ("rule:violence:es", "model")."""

    urgent: bool
    category: str | None
    score: float
    reason: str
    # Not urgent, but a common situation that needs help soon (vocab.SOON_TOPICS): a passport
    # kept by the employer, wages unpaid, a permit ended or ending.
    soon: bool = False


class UrgencyDetector:
    """Rules plus a classifier on the E5 query vector. ``warm_up`` trains or loads; ``detect`` is cheap.

    ``folder`` is where the trained model is cached: pass ``Settings.triage_dir``, which lies
    outside the index folder (an index build replaces that folder, and the model with it).
    """

    def __init__(self, embedder: Embedder, folder: Path, data: Path = DATA_FILE, rules: UrgencyRules | None = None):
        for method in ("warm_up", "info", "embed_queries"):
            if not callable(getattr(embedder, method, None)):
                raise TriageError(f"embedder {embedder!r} has no {method}(); pass a knowledge.embedding embedder")
        self.embedder = embedder
        self.folder = Path(folder)
        self.data = Path(data)
        if not self.data.is_file():
            raise TriageError(f"urgency data {self.data} does not exist")
        if self.folder.exists() and not self.folder.is_dir():
            raise TriageError(f"{self.folder} is a file; give a folder for the urgency model cache")
        self._rules = rules
        self._model: UrgencyModel | None = None
        self.trained = False  # True when this instance trained (rather than loaded) its model

    @property
    def rules(self) -> UrgencyRules:
        if self._rules is None:
            self._rules = default_rules()
        return self._rules

    def cache_key(self) -> str:
        """The key the cached model must carry (``model.cache_key``)."""
        return cache_key(self.data, self.embedder.info(), self.rules)

    def warm_up(self) -> None:
        """Load the cached model, or train it (embeds every example once) and cache it. Idempotent.

        The embedder is warmed only to train or to embed a text: a caller that always passes the
        query vector (the Rasa server's urgency gate) never loads a second copy of the encoder."""
        if self._model is not None:
            return
        key = self.cache_key()
        model = UrgencyModel.load(self.folder, key)
        if model is None:
            self.embedder.warm_up()
            examples = load_examples(self.data)
            vectors = self.embedder.embed_queries([e.text for e in examples])
            model = train(examples, vectors, key, self.rules)
            model.save(self.folder)
            self.trained = True
        if model.dim != self.embedder.info().dim:
            raise TriageError(f"urgency model has dimension {model.dim}, the embedder {self.embedder.info().dim}")
        self._model = model

    @property
    def model(self) -> UrgencyModel:
        self.warm_up()
        assert self._model is not None
        return self._model

    def _vector(self, text: str, vector: np.ndarray | None) -> np.ndarray:
        if vector is None:
            return np.asarray(self.embedder.embed_queries([text]), dtype=np.float32)[0]
        v = np.asarray(vector, dtype=np.float32)
        if v.ndim == 2 and v.shape[0] == 1:  # one row of a batch
            v = v[0]
        if v.shape != (self.model.dim,) or not np.all(np.isfinite(v)):
            raise TriageError(f"vector must be one E5 query vector of shape ({self.model.dim},), got {v.shape}")
        return v

    def detect(self, text: str, lang: str | None = None, vector: np.ndarray | None = None) -> Urgency:
        """Urgent or not, with the category and the deciding signal.

        ``vector`` is the message's E5 query vector if the caller already has it (the retriever
        embeds every message): the message is then not embedded a second time.
        """
        if not isinstance(text, str):
            raise TriageError(f"text must be a string, got {type(text).__name__}")
        if lang is not None and not isinstance(lang, str):
            raise TriageError(f"lang must be a language code or None, got {type(lang).__name__}")
        if not text.strip():
            return Urgency(False, None, 0.0, "empty")
        if CITATION_ONLY.match(text):  # "article 16" asks for a provision; the model read it as trafficking
            return Urgency(False, None, 0.0, "citation")
        row = self._vector(text, vector)[None, :]
        scores, cats = self.model.urgency(row)
        score, model_category = float(scores[0]), cats[0]
        # "they took my passport at a check, is that normal?": asking whether something was
        # allowed, with no sign that the danger is now, is a question about the rules; it needs
        # a near-certain model score to count as an emergency.
        asking = self.rules.asks_if_allowed(text)
        rule = self.rules.match(text, lang)
        if rule is not None and not asking:
            return Urgency(True, rule[0], score, f"rule:{rule[0]}:{rule[1]}")
        # "anuchhed 71 ki jankari chahiye" (information on article 71) asks for a provision by its
        # number; the model, reading Roman Hindi poorly, called it a medical emergency. Like a
        # question about the rules, it needs a near-certain score, unless it says the danger is now
        # or calls for help (the rules still fire).
        citing = bool(ARTICLE_WORD.search(text) and _DIGIT.search(text)) and not self.rules.now_or_help(text)
        threshold = max(self.model.threshold, ASKING_THRESHOLD) if asking or citing else self.model.threshold
        if score >= threshold:
            return Urgency(True, model_category if rule is None else rule[0], score, "model")
        topic = self.model.topics(row)[0]
        soon = topic.startswith(NOT_URGENT_PREFIX) and topic[len(NOT_URGENT_PREFIX):] in SOON_TOPICS
        return Urgency(False, None, score, "model:asks-if-allowed" if asking else "model", soon=soon)

    def detect_many(self, texts: Sequence[str], langs: Sequence[str | None] | None = None) -> list[Urgency]:
        """``detect`` for many messages with one batched embedding call (evaluation, bulk triage)."""
        langs = list(langs) if langs is not None else [None] * len(texts)
        if len(langs) != len(texts):
            raise TriageError("texts and langs differ in length")
        vectors = np.asarray(self.embedder.embed_queries(list(texts)) if texts else np.zeros((0, 0)), dtype=np.float32)
        return [self.detect(t, lang, v) for t, lang, v in zip(texts, langs, vectors, strict=True)]
