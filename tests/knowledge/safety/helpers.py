"""Small builders shared by the safety tests: the shipped files as data, and hotline entries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from knowledge.safety import Hotline
from knowledge.settings import DATA_DIR


def raw(name: str) -> Any:
    """A shipped data file as plain data, to change and write back."""
    return yaml.safe_load((DATA_DIR / name).read_text("utf-8"))


def write(tmp_path: Path, name: str, data: Any) -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    return path


def line(organisation: str, **kw: Any) -> Hotline:
    kw.setdefault("countries", ("GB",))
    kw.setdefault("languages", ("en",))
    kw.setdefault("phone", "+44 7700 900000")
    return Hotline(organisation=organisation, **kw)


EMERGENCY = line("Emergency", countries=("*",), languages=("*",), phone="112", emergency=True)


def names(hotlines: list[Hotline]) -> list[str]:
    return [h.organisation for h in hotlines]
