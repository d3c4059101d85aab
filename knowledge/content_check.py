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
