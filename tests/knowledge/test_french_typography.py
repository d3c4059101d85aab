"""French puts a space before ? ! : ; and it must not break: on a phone a lone "?" or ":" must not
wrap onto a line of its own (translation review). Every French text a person reads is checked."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from knowledge.corpus.model import Corpus
from knowledge.settings import DATA_DIR
from tests.knowledge.texts import strings

BREAKING = re.compile(r"[ \t\n](?=[?!:;](?:\s|$))")
BOT = Path(__file__).resolve().parents[2] / "bot"


def _breaking(texts: list[str]) -> list[str]:
    return [t for t in texts if BREAKING.search(t)]


def test_corpus_titles_and_summaries(corpus: Corpus) -> None:
    shown = [t for (_, lang), e in corpus.entries.items() if lang == "fr" for t in (e.title, e.summary)]
    assert shown and _breaking(shown) == []


def test_safety_texts_and_answer_phrases() -> None:
    safety = yaml.safe_load((DATA_DIR / "safety.yaml").read_text("utf-8"))
    texts = strings(safety["labels"]["fr"]) + [
        s for situation in safety["categories"].values() for s in strings(situation.get("fr", {}))]
    texts += strings(yaml.safe_load((DATA_DIR / "phrases.yaml").read_text("utf-8"))["fr"])
    assert texts and _breaking(texts) == []


def test_bot_responses() -> None:
    responses = yaml.safe_load((BOT / "domain" / "responses.yml").read_text("utf-8"))["responses"]
    french = [v for variants in responses.values() for v in variants
              if any(c.get("value") == "fr" for c in v.get("condition", []))]
    texts = [v["text"] for v in french if "text" in v] + [b["title"] for v in french for b in v.get("buttons", [])]
    assert texts and _breaking(texts) == []
