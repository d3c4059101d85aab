from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main
from knowledge.evaluation import KEYS, URGENT_KEYS
from knowledge.search.retriever import Retriever


@pytest.fixture()
def index_env(retriever: Retriever, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RIGHTS_INDEX_DIR", str(retriever.folder))
    return retriever.folder


def test_every_subcommand_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--help"], ["index", "build", "--help"], ["search", "--help"], ["eval", "--help"],
                 ["ingest", "--help"], ["bench", "--help"], ["corpus", "check", "--help"], ["triage", "eval", "--help"],
                 ["prepare", "--help"], ["run", "--help"], ["gateway", "--help"], ["operator", "add", "--help"],
                 ["abuse", "--help"], ["nlu-eval", "--help"], ["bench-bot", "--help"], ["train", "--help"],
                 ["shell", "--help"]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 0
        assert "usage: rights" in capsys.readouterr().out


def test_search_json(index_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "mi patrón me quitó el pasaporte", "--json", "--no-build"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["lang"] == "es" and out["covered"]
    assert {"id", "score", "lang", "text"} <= set(out["hits"][0])
    assert any(h["id"] == "icrmw:art21" for h in out["hits"])


def test_search_json_says_nothing_matched(index_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "best pizza recipe with pineapple", "--json", "--no-build"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["covered"] is False and out["hits"] == [] and "nothing" in out["message"]


def test_eval_on_any_file_in_the_format(index_env: Path, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "mini.jsonl"
    rows = [
        {"id": "a", "lang": "en", "text": "my boss took my passport", "gold": ["icrmw:art21"],
         "acceptable": []},
        {"id": "b", "lang": "es", "text": "¿pueden expulsarnos a todos juntos?", "gold": [],
         "acceptable": [], "urgent": False},
        {"id": "c", "lang": "fr", "text": "la recette de la ratatouille", "gold": []},
        {"id": "d", "lang": "en", "text": "I work as a maid and my employer hits me",
         "gold": ["cmw-gc1:para3"], "acceptable": ["icrmw:art10"]},
    ]
    data.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", "utf-8")
    out_json = tmp_path / "report.json"
    assert main(["eval", str(data), "--json", str(out_json)]) == 0
    table = capsys.readouterr().out
    assert "recall@3" in table and "overall" in table
    report = json.loads(out_json.read_text())
    assert set(report["overall"]) == {*KEYS, *URGENT_KEYS}, "urgency is scored when items carry labels"
    assert report["overall"]["urgent_recall"] is None, "no urgent item in this file"
    assert set(report["per_language"]) == {"en", "es", "fr"}
    assert report["overall"]["n"] == 4
    assert report["per_language"]["fr"]["recall@1"] is None
    assert report["per_language"]["fr"]["oos_refusal"] == 1.0
    assert report["per_language"]["en"]["recall@3"] == 1.0


def test_eval_rejects_a_malformed_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "lang": "en"}\n', "utf-8")
    assert main(["eval", str(bad)]) == 2
    assert "bad.jsonl:1" in capsys.readouterr().err


def test_ingest_command(seeds_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ingest", str(seeds_dir / "cmw-input-hlpf-sdgs.txt"), "--out", str(tmp_path),
                 "--id-prefix", "seed:hlpf"]) == 0
    saved = tmp_path / "cmw-input-hlpf-sdgs.jsonl"
    first = json.loads(saved.read_text("utf-8").splitlines()[0])
    assert first["id"] == "seed:hlpf:para1" and first["source"] == "cmw-input-hlpf-sdgs.txt"
    assert "rights index build" in capsys.readouterr().out


def test_ingest_refuses_unknown_type(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "x.docx").write_bytes(b"x")
    assert main(["ingest", str(tmp_path / "x.docx"), "--out", str(tmp_path)]) == 2
    assert "unsupported file type" in capsys.readouterr().err


def test_an_unexpected_error_is_one_line_not_only_a_traceback(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from bot.commands import knowledge as commands

    def broken(_args: object) -> int:
        raise ValueError("boom")

    monkeypatch.setattr(commands, "cmd_corpus_check", broken)
    assert main(["corpus", "check"]) == 1
    assert "error: rights corpus failed unexpectedly" in capsys.readouterr().err


def test_a_knowledge_error_says_what_to_do(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "passport", "--no-build", "--index-dir", str(tmp_path / "none")]) == 2
    assert "rights index build" in capsys.readouterr().err
