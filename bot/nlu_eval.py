"""Intent accuracy per language on held-out examples (``bot/tests/nlu_heldout/<lang>.yml``)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import yaml

from bot.runtime import BOT_DIR

_ANNOTATION = re.compile(r"\[([^\]]*)\](?:\([^)]*\)|\{[^}]*\})")


def heldout(folder: Path = BOT_DIR / "tests" / "nlu_heldout") -> dict[str, list[tuple[str, str]]]:
    """{lang: [(text, intent), ...]} with entity annotations removed from the text."""
    out: dict[str, list[tuple[str, str]]] = {}
    for path in sorted(folder.glob("*.yml")):
        data = yaml.safe_load(path.read_text("utf-8"))
        for block in data["nlu"]:
            for line in str(block["examples"]).splitlines():
                if line.strip().startswith("- "):
                    text = _ANNOTATION.sub(r"\1", line.strip()[2:])
                    out.setdefault(path.stem, []).append((text, block["intent"]))
    return out


async def _evaluate(model: Path) -> dict[str, dict[str, object]]:
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    report: dict[str, dict[str, object]] = {}
    for lang, examples in heldout().items():
        correct = 0
        confusions: dict[str, int] = {}
        for text, intent in examples:
            parsed = await agent.parse_message(text)
            got = parsed["intent"]["name"]
            if got == intent:
                correct += 1
            else:
                key = f"{intent}->{got}"
                confusions[key] = confusions.get(key, 0) + 1
        report[lang] = {"accuracy": round(correct / len(examples), 3), "n": len(examples),
                        "confusions": dict(sorted(confusions.items(), key=lambda kv: -kv[1])[:5])}
    return report


def evaluate(model: Path) -> dict[str, dict[str, object]]:
    return asyncio.run(_evaluate(model))
