"""Checking content files an NGO edits: collect every problem, then raise once.

An NGO editing YAML should be able to fix everything in one pass, so a loader does not stop at the
first mistake: it appends each problem (with its file and entry) to a list, goes on checking, and
calls ``raise_problems`` at the end. The corpus, the safety guide, the hotline directory, the
urgency rules and the phrases use this.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from knowledge.errors import KnowledgeError
from knowledge.settings import LANGUAGES_DIR

# An ISO 639-1 language code as the content files write it: two lower-case letters.
LANGUAGE_CODE = re.compile(r"[a-z]{2}")
# Problems shown in one error message; the count says how many more there are.
SHOWN_PROBLEMS = 50


def read_yaml(path: Path, problems: list[str]) -> Any:
    """The parsed file, or None with the reason appended to ``problems``."""
    try:
        return yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        problems.append(f"{path}: file not found")
    except OSError as exc:
        problems.append(f"{path}: cannot be read: {exc.strerror}")
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        problems.append(f"{path}: not valid YAML: {exc}")
    return None


def language_files(name: str, problems: list[str], root: Path | None = None) -> dict[str, Any]:
    """``<lang>/<name>`` parsed, for every language folder of ``root`` (``content/languages``) that
    has that file: the part of a shared data file that a language keeps in its own folder."""
    root = LANGUAGES_DIR if root is None else Path(root)
    found: dict[str, Any] = {}
    if not root.is_dir():
        return found
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        path = folder / name
        if not path.exists():
            continue
        if not LANGUAGE_CODE.fullmatch(folder.name):
            problems.append(f"{folder}: a language folder is named by its ISO 639-1 code (two lower-case letters)")
            continue
        data = read_yaml(path, problems)
        if data is not None and not isinstance(data, dict):
            problems.append(f"{path}: expected a mapping at the top level")
            continue
        if data is not None:
            found[folder.name] = data
    return found


def merge_language_blocks(shared: dict[Any, Any], blocks: dict[str, Any], where: str, problems: list[str]) -> None:
    """Add each language folder's block to ``shared`` (a mapping keyed by language); a language
    written both in the shared file and in its folder is a problem, not a silent override."""
    for lang, block in blocks.items():
        if lang in shared:
            problems.append(f"{where}: language {lang!r} is written both here and in its language folder; keep one")
            continue
        shared[lang] = block


def raise_problems(subject: str, problems: Sequence[str], error: type[KnowledgeError]) -> None:
    """Raise ``error`` listing every problem if there is any; ``subject`` names what was checked
    (a file name, "the corpus in ...")."""
    if not problems:
        return
    shown = "\n  - ".join(problems[:SHOWN_PROBLEMS])
    more = f"\n  ... and {len(problems) - SHOWN_PROBLEMS} more" if len(problems) > SHOWN_PROBLEMS else ""
    raise error(f"{subject} has {len(problems)} problem(s); fix them and reload:\n  - {shown}{more}")


# Line breaks, tabs and runs of spaces, but not the no-break spaces French puts before ? ! : ;
_LOOSE_SPACE = re.compile(r"[ \t\r\n]+")


def one_line(text: str) -> str:
    """``text`` on one line with single spaces; no-break spaces (U+00A0, U+202F) are kept."""
    return _LOOSE_SPACE.sub(" ", text).strip()


def text_field(value: object) -> str:
    """A scalar field as one line of text with single spaces; "" for a missing or non-scalar value."""
    return one_line(str(value)) if isinstance(value, (str, int, float)) else ""
