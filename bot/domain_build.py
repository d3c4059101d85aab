"""The domain Rasa trains on: ``bot/domain`` plus the responses each language keeps in its folder.

``bot/domain/responses.yml`` holds every response in English (the last variant, without a
condition) and in the languages written there from the start. A language added later keeps its
texts in ``knowledge/content/languages/<lang>/responses.yaml`` (response name -> ``text`` and the
button ``buttons`` titles in the order of the English buttons), so that adding a language never
means editing a 700-line file in four places per response. This module writes the merged domain
into ``var/domain`` before training and wherever a test needs the real domain:

- each folder's texts become one more variant per response, chosen by the ``language`` slot, with
  the English variant's button payloads;
- the language picker (``utter_choose_language``) offers every complete language, each named in
  its own script;
- the ``language`` slot accepts every complete language.

Every problem (a response missing in a complete language, a button too many) is reported at once.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from knowledge.answers.phrases import language_name
from knowledge.content_check import language_files, raise_problems, read_yaml
from knowledge.errors import KnowledgeError
from knowledge.settings import LANGUAGES_DIR
from knowledge.vocab import COMPLETE_LANGUAGES

SOURCE_DIR = Path(__file__).resolve().parent / "domain"
RESPONSES_FILE = "responses.yml"
LANGUAGE_RESPONSES = "responses.yaml"
PICKER = "utter_choose_language"


class DomainBuildError(KnowledgeError):
    """A language folder's responses do not fit the domain; the message lists every problem."""


def _condition(lang: str) -> list[dict[str, str]]:
    return [{"type": "slot", "name": "language", "value": lang}]


def _default_variant(name: str, variants: list[dict[str, Any]]) -> dict[str, Any]:
    defaults = [v for v in variants if not v.get("condition")]
    if len(defaults) != 1:
        raise DomainBuildError(f"{SOURCE_DIR / RESPONSES_FILE}: {name} needs exactly one variant without a condition")
    return defaults[0]


def _variant(lang: str, name: str, block: Any, default: dict[str, Any], problems: list[str]) -> dict[str, Any] | None:
    where = f"{LANGUAGES_DIR / lang / LANGUAGE_RESPONSES} ({name})"
    if not isinstance(block, dict) or not str(block.get("text") or "").strip():
        problems.append(f"{where}: needs a 'text'")
        return None
    variant: dict[str, Any] = {"condition": _condition(lang), "text": str(block["text"]).strip()}
    english = default.get("buttons") or []
    titles = block.get("buttons") or []
    if name == PICKER:
        titles = [b["title"] for b in english]  # replaced by the picker below
    if len(titles) != len(english):
        problems.append(f"{where}: {len(titles)} button title(s), but the English variant has {len(english)}")
        return None
    if english:
        variant["buttons"] = [{"title": str(t), "payload": b["payload"]} for t, b in zip(titles, english, strict=True)]
    return variant


def _capitalised(name: str) -> str:
    """"español" on a button reads "Español"; scripts without capitals are unchanged."""
    return name[:1].upper() + name[1:]


def _picker_buttons() -> list[dict[str, str]]:
    # doubled braces: Rasa fills {slot} placeholders in responses (see responses.yml)
    return [{"title": _capitalised(language_name(lang, lang)),
             "payload": "/choose_language" + json.dumps({"language": lang}).replace("{", "{{").replace("}", "}}")
             .replace(" ", "")}
            for lang in COMPLETE_LANGUAGES]


def merged_responses(responses: dict[str, list[dict[str, Any]]], folders: dict[str, Any],
                     languages: tuple[str, ...] = COMPLETE_LANGUAGES) -> dict[str, list[dict[str, Any]]]:
    """``responses`` with each folder's variants inserted before the English default."""
    problems: list[str] = []
    written = {v["condition"][0]["value"] for vs in responses.values() for v in vs if v.get("condition")}
    for lang in languages:
        if lang not in written and lang not in folders and lang != "en":
            problems.append(f"language {lang!r} is complete but has no {LANGUAGES_DIR / lang / LANGUAGE_RESPONSES}")
    merged: dict[str, list[dict[str, Any]]] = {}
    for name, variants in responses.items():
        default = _default_variant(name, variants)
        added = []
        for lang, blocks in sorted(folders.items()):
            if name not in blocks:
                problems.append(f"{LANGUAGES_DIR / lang / LANGUAGE_RESPONSES}: {name} is missing")
                continue
            variant = _variant(lang, name, blocks[name], default, problems)
            if variant is not None:
                added.append(variant)
        keep = [v for v in variants if v is not default]
        merged[name] = [*keep, *added, default]
    for lang, blocks in folders.items():
        for name in sorted(set(blocks) - set(responses)):
            problems.append(f"{LANGUAGES_DIR / lang / LANGUAGE_RESPONSES}: {name} is not a response of the domain")
    raise_problems("the language folders' responses", problems, DomainBuildError)
    if PICKER in merged:
        for variant in merged[PICKER]:
            variant["buttons"] = _picker_buttons()
    return merged


def build_domain(out: Path, source: Path = SOURCE_DIR) -> Path:
    """Write the merged domain into the folder ``out`` (replacing its files) and return it."""
    problems: list[str] = []
    files = {p.name: read_yaml(p, problems) for p in sorted(source.glob("*.yml"))}
    folders = language_files(LANGUAGE_RESPONSES, problems)
    raise_problems(str(source), problems, DomainBuildError)
    responses = files[RESPONSES_FILE]
    responses["responses"] = merged_responses(responses["responses"], folders)
    for data in files.values():
        slot = (data.get("slots") or {}).get("language")
        if slot is not None:
            slot["values"] = list(COMPLETE_LANGUAGES)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.yml"):
        if old.name not in files:
            old.unlink()
    for name, data in files.items():
        text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=1_000)
        target = out / name
        if not target.exists() or target.read_text("utf-8") != text:
            target.write_text(text, encoding="utf-8")
    return out
