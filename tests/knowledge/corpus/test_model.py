from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from knowledge.corpus.model import Corpus
from knowledge.errors import CorpusError
from knowledge.settings import CORPUS_DIR
from knowledge.vocab import COMPLETE_LANGUAGES, ICRMW_ARTICLES, document_id


def test_every_article_in_every_complete_language(corpus: Corpus) -> None:
    for lang in COMPLETE_LANGUAGES:
        for n in range(1, ICRMW_ARTICLES + 1):
            entry = corpus.entries.get((f"icrmw:art{n}", lang))
            assert entry is not None, f"icrmw:art{n} missing in {lang}"
            assert entry.summary.strip() and entry.title.strip()


def test_general_comments_and_seed_themes_present(corpus: Corpus) -> None:
    docs = {document_id(i) for i in corpus.metas}
    assert {"cmw-gc1", "cmw-gc2", "cmw-gc3", "cmw-gc4", "cmw-gc5"} <= docs
    for target in ("sdg:5.2", "sdg:8.7", "sdg:8.8", "sdg:10.7", "sdg:10.c", "sdg:16.2", "sdg:16.9",
                   "sdg:17.18", "gcm"):
        assert target in corpus.metas, target
    assert any(i.startswith("seed:") for i in corpus.metas)


def test_parts_and_protection_follow_the_convention(corpus: Corpus) -> None:
    for n in range(8, 36):
        meta = corpus.metas[f"icrmw:art{n}"]
        assert (meta.part, meta.protects) == ("III", "all")
    for n in range(37, 57):
        meta = corpus.metas[f"icrmw:art{n}"]
        assert (meta.part, meta.protects) == ("IV", "regular")


def test_summaries_are_short_and_each_entry_has_questions(corpus: Corpus) -> None:
    for entry in corpus:
        assert len(entry.questions) >= 3, (entry.id, entry.lang)
        assert 40 <= len(entry.summary) <= 1500, (entry.id, entry.lang)


def test_texts_are_in_their_language(corpus: Corpus) -> None:
    from knowledge.answers.language import LanguageIdentifier

    ident = LanguageIdentifier()
    wrong = [(e.id, e.lang) for e in corpus if ident.identify(e.summary).lang != e.lang]
    assert len(wrong) <= len(corpus) * 0.02, wrong[:20]


def test_document_ids() -> None:
    assert document_id("cmw-gc2:para12") == "cmw-gc2"
    assert document_id("icrmw:art21") == "icrmw:art21"
    assert document_id("icrmw:art21:para2") == "icrmw:art21"
    assert document_id("sdg:10.c") == "sdg:10.c"


@pytest.fixture()
def editable(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    shutil.copytree(CORPUS_DIR, root)
    return root


def _edit(path: Path, change) -> None:  # type: ignore[no-untyped-def]
    data = yaml.safe_load(path.read_text("utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")


def test_copy_of_the_corpus_loads(editable: Path) -> None:
    assert len(Corpus.load(editable)) == len(Corpus.load())


def test_missing_id_is_reported(editable: Path) -> None:
    _edit(editable / "es" / "icrmw.yaml", lambda d: d["entries"].pop(20))
    with pytest.raises(CorpusError, match=r"'es' is missing 1 document.*icrmw:art21"):
        Corpus.load(editable)


def test_duplicate_id_is_reported(editable: Path) -> None:
    _edit(editable / "fr" / "icrmw.yaml", lambda d: d["entries"].append(dict(d["entries"][4])))
    with pytest.raises(CorpusError, match=r"duplicate id 'icrmw:art5' in language 'fr'"):
        Corpus.load(editable)


def test_empty_summary_is_reported(editable: Path) -> None:
    _edit(editable / "ar" / "icrmw.yaml", lambda d: d["entries"][15].update(summary="  "))
    with pytest.raises(CorpusError, match=r"icrmw:art16: empty summary"):
        Corpus.load(editable)


def test_unknown_language_is_reported(editable: Path) -> None:
    shutil.copytree(editable / "en", editable / "xx")
    with pytest.raises(CorpusError, match=r"unknown language folder 'xx'"):
        Corpus.load(editable)


def test_language_must_match_its_folder(editable: Path) -> None:
    _edit(editable / "en" / "icrmw.yaml", lambda d: d.update(lang="es"))
    with pytest.raises(CorpusError, match=r"says lang 'es' but lies in folder 'en'"):
        Corpus.load(editable)


def test_undeclared_id_is_reported(editable: Path) -> None:
    _edit(editable / "en" / "icrmw.yaml", lambda d: d["entries"][0].update(id="icrmw:art94"))
    with pytest.raises(CorpusError, match=r"'icrmw:art94' is not declared"):
        Corpus.load(editable)


def test_broken_yaml_names_the_file(editable: Path) -> None:
    (editable / "en" / "icrmw.yaml").write_text("lang: en\nentries: [\n", "utf-8")
    with pytest.raises(CorpusError, match=r"en/icrmw.yaml: not valid YAML"):
        Corpus.load(editable)


def test_fingerprint_changes_with_any_text(editable: Path) -> None:
    before = Corpus.load(editable).fingerprint()
    _edit(editable / "en" / "icrmw.yaml", lambda d: d["entries"][0].update(title="Changed"))
    assert Corpus.load(editable).fingerprint() != before
