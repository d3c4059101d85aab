from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.settings import CORPUS_DIR, VAR_DIR, Settings, SettingsError


def test_defaults_keep_built_things_in_var() -> None:
    settings = Settings.from_env({})
    assert settings.index_dir == VAR_DIR / "index" and settings.triage_dir == VAR_DIR / "triage"
    assert settings.corpus_dir == CORPUS_DIR and settings.embed_threads is None


def test_the_urgency_cache_is_outside_the_index_folder_a_rebuild_replaces(tmp_path: Path) -> None:
    settings = Settings.from_env({"RIGHTS_INDEX_DIR": str(tmp_path / "idx")})
    assert not settings.triage_dir.is_relative_to(settings.index_dir)


def test_var_dir_moves_everything_not_named_otherwise(tmp_path: Path) -> None:
    settings = Settings.from_env({"RIGHTS_VAR_DIR": str(tmp_path), "RIGHTS_TRIAGE_DIR": str(tmp_path / "t")})
    assert settings.index_dir == tmp_path / "index" and settings.triage_dir == tmp_path / "t"


@pytest.mark.parametrize("value", ["two", "0", "-1", "1.5"])
def test_embed_threads_must_be_a_positive_whole_number(value: str) -> None:
    with pytest.raises(SettingsError, match="EMBED_THREADS"):
        Settings.from_env({"EMBED_THREADS": value})
    assert Settings.from_env({"EMBED_THREADS": " 3 "}).embed_threads == 3
