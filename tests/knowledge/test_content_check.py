"""The shared "collect every problem, then raise once" helpers for content files."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.content_check import SHOWN_PROBLEMS, raise_problems, read_yaml, text_field
from knowledge.errors import KnowledgeError


class ContentError(KnowledgeError):
    pass


def test_read_yaml_records_why_a_file_cannot_be_read(tmp_path: Path) -> None:
    problems: list[str] = []
    good = tmp_path / "good.yaml"
    good.write_text("a: [1, 2]\n", "utf-8")
    assert read_yaml(good, problems) == {"a": [1, 2]} and problems == []
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1, 2\n", "utf-8")
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("a: caf\xe9\n".encode("latin-1"))
    for path in (bad, latin, tmp_path / "absent.yaml", tmp_path):
        assert read_yaml(path, problems) is None
    assert [p.split(": ", 1)[1].split(":")[0] for p in problems] == [
        "not valid YAML", "not valid YAML", "file not found", "cannot be read"]


def test_raise_problems_lists_them_all_or_does_nothing() -> None:
    raise_problems("x.yaml", [], ContentError)
    with pytest.raises(ContentError) as info:
        raise_problems("x.yaml", ["first", "second"], ContentError)
    assert str(info.value) == "x.yaml has 2 problem(s); fix them and reload:\n  - first\n  - second"
    many = [f"p{i}" for i in range(SHOWN_PROBLEMS + 3)]
    with pytest.raises(ContentError, match=r"has 53 problem\(s\)") as info:
        raise_problems("corpus", many, ContentError)
    assert str(info.value).endswith(f"  - p{SHOWN_PROBLEMS - 1}\n  ... and 3 more")


@pytest.mark.parametrize("value,text", [("  two\n words ", "two words"), (12, "12"), (1.5, "1.5"), (None, ""),
                                        (["a"], ""), ({"a": 1}, "")])
def test_text_field(value: object, text: str) -> None:
    assert text_field(value) == text
