"""Default locations, overridable from the environment (one place to look)."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent
CORPUS_DIR = PACKAGE_DIR / "corpus"
DATA_DIR = PACKAGE_DIR / "data"


def index_dir() -> Path:
    """Where the FAISS index and its manifest live (``RIGHTS_INDEX_DIR``, default ``var/index``)."""
    return Path(os.environ.get("RIGHTS_INDEX_DIR", REPO_DIR / "var" / "index"))


def corpus_dir() -> Path:
    """The corpus root (``RIGHTS_CORPUS_DIR``, default the bundled corpus)."""
    return Path(os.environ.get("RIGHTS_CORPUS_DIR", CORPUS_DIR))
