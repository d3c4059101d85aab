"""The knowledge core's configuration, read from the environment in one place.

``Settings.from_env()`` is called by whoever composes a process (the ``rights`` command, the
action server's start-up, the Rasa server's plug-ins); library classes receive the values and
never read the environment themselves.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from knowledge.errors import KnowledgeError

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent
CONTENT_DIR = PACKAGE_DIR / "content"  # what an NGO edits: the corpus and the data files
CORPUS_DIR = CONTENT_DIR / "corpus"
DATA_DIR = CONTENT_DIR / "data"
# One folder per language for the texts a person reads around the corpus (phrases, safety texts,
# bot responses, names, glossary): adding a language is a folder here, its corpus folder, its NLU
# file and a line in knowledge/vocab.py (README, "Adding a language").
LANGUAGES_DIR = CONTENT_DIR / "languages"
VAR_DIR = REPO_DIR / "var"


class SettingsError(KnowledgeError):
    """An environment variable has a value the knowledge core cannot use."""


@dataclass(frozen=True)
class Settings:
    """Where content is read from and where built artefacts are kept.

    ``RIGHTS_VAR_DIR`` (default ``var/``) holds what a run creates; ``RIGHTS_INDEX_DIR`` (default
    ``var/index``) the FAISS index, ``RIGHTS_TRIAGE_DIR`` (default ``var/triage``) the urgency
    model's cache (outside the index folder, which a rebuild replaces), ``RIGHTS_CORPUS_DIR``
    (default the bundled corpus) the corpus, ``EMBED_THREADS`` (default every core) the threads of
    one embedding call.
    """

    var_dir: Path = VAR_DIR
    index_dir: Path = VAR_DIR / "index"
    triage_dir: Path = VAR_DIR / "triage"
    corpus_dir: Path = CORPUS_DIR
    embed_threads: int | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        var = Path(env.get("RIGHTS_VAR_DIR") or VAR_DIR)
        return cls(
            var_dir=var,
            index_dir=Path(env.get("RIGHTS_INDEX_DIR") or var / "index"),
            triage_dir=Path(env.get("RIGHTS_TRIAGE_DIR") or var / "triage"),
            corpus_dir=Path(env.get("RIGHTS_CORPUS_DIR") or CORPUS_DIR),
            embed_threads=_positive(env, "EMBED_THREADS"),
        )


def _positive(env: Mapping[str, str], key: str) -> int | None:
    value = env.get(key, "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        raise SettingsError(f"{key} must be a positive whole number, not {value!r}")
    return int(value)


def corpus_dir() -> Path:
    """The corpus root the environment names (``RIGHTS_CORPUS_DIR``, default the bundled one)."""
    return Settings.from_env().corpus_dir
