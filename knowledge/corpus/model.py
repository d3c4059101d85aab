"""The project's own corpus: structure (meta/*.yaml) plus one folder of texts per language.

Layout::

    corpus/meta/*.yaml          documents: [{id, source, reference_title, part?, protects?}]
    corpus/<lang>/*.yaml        lang: <lang>; entries: [{id, title, summary, questions}]

The corpus is validated as a whole when it is loaded, and every problem is reported at once with
the file it was found in, so that an NGO editing the YAML can fix them in one pass.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from knowledge.content_check import one_line, raise_problems, read_yaml
from knowledge.errors import CorpusError
from knowledge.settings import corpus_dir
from knowledge.vocab import COMPLETE_LANGUAGES, ICRMW_ARTICLES, KNOWN_LANGUAGES, document_id

PROTECTS = {
    "all": "every migrant worker and family member, whatever their status",
    "scope": "who and what the Convention covers (Part I: scope and definitions)",
    "regular": "only migrant workers and family members who are documented or in a regular situation",
    "states": "a duty of States",
    "committee": "the Committee on Migrant Workers and its procedures",
    "final": "final clauses",
}


@dataclass(frozen=True)
class DocumentMeta:
    """Language-independent facts about one citable provision."""

    id: str
    source: str
    reference_title: str
    part: str | None = None
    protects: str | None = None


@dataclass(frozen=True)
class Entry:
    """One provision written in one language."""

    id: str
    lang: str
    title: str
    summary: str
    questions: tuple[str, ...] = ()
    file: str = field(default="", compare=False)

    @property
    def text(self) -> str:
        return f"{self.title}. {self.summary}"


class Corpus:
    """A validated corpus: metadata per ID and entries per (ID, language)."""

    def __init__(self, metas: dict[str, DocumentMeta], entries: dict[tuple[str, str], Entry]):
        self.metas = metas
        self.entries = entries

    @classmethod
    def load(cls, root: Path | None = None) -> Corpus:
        root = Path(root) if root is not None else corpus_dir()
        if not (root / "meta").is_dir():
            raise CorpusError(f"{root}: no meta/ folder; is this the corpus directory?")
        problems: list[str] = []
        metas = _load_metas(root / "meta", problems)
        entries = _load_entries(root, metas, problems)
        _check_complete(metas, entries, problems)
        raise_problems(f"the corpus in {root}", problems, CorpusError)
        return cls(metas, entries)

    def languages(self) -> list[str]:
        return sorted({lang for _, lang in self.entries})

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries[k] for k in sorted(self.entries))

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, citation_id: str, lang: str, fallback: str = "en") -> Entry | None:
        """The entry in ``lang`` if written, else in ``fallback``."""
        return self.entries.get((citation_id, lang)) or self.entries.get((citation_id, fallback))

    def ids_for(self, doc: str) -> list[str]:
        """All IDs of a document, e.g. every section of ``cmw-gc1``."""
        return [i for i in self.metas if document_id(i) == doc]

    def fingerprint(self) -> str:
        """A hash of everything that goes into the index; it changes when any text changes."""
        payload = {
            "metas": [asdict(self.metas[k]) for k in sorted(self.metas)],
            "entries": [
                {k: v for k, v in asdict(self.entries[key]).items() if k != "file"}
                for key in sorted(self.entries)
            ],
        }
        blob = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode("utf-8")
        return hashlib.sha256(blob).hexdigest()


def _yaml_files(folder: Path) -> list[Path]:
    return sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])


def _load_metas(folder: Path, problems: list[str]) -> dict[str, DocumentMeta]:
    metas: dict[str, DocumentMeta] = {}
    for path in _yaml_files(folder):
        data = read_yaml(path, problems)
        if data is None:
            continue
        docs = data.get("documents") if isinstance(data, dict) else None
        if not isinstance(docs, list):
            problems.append(f"{path}: expected a top-level 'documents:' list")
            continue
        for i, raw in enumerate(docs):
            where = f"{path} (document #{i + 1})"
            if not isinstance(raw, dict) or not str(raw.get("id") or "").strip():
                problems.append(f"{where}: missing 'id'")
                continue
            doc_id = str(raw["id"]).strip()
            if doc_id in metas:
                problems.append(f"{where}: duplicate id {doc_id!r}")
                continue
            protects = raw.get("protects")
            if protects is not None and protects not in PROTECTS:
                problems.append(
                    f"{where}: {doc_id}: unknown 'protects' value {protects!r}; "
                    f"use one of {', '.join(PROTECTS)}"
                )
            if doc_id.startswith("icrmw:") and (raw.get("part") is None or protects is None):
                problems.append(f"{where}: {doc_id}: an article needs 'part' and 'protects'")
            metas[doc_id] = DocumentMeta(
                id=doc_id,
                source=str(raw.get("source") or "").strip(),
                reference_title=str(raw.get("reference_title") or "").strip(),
                part=None if raw.get("part") is None else str(raw["part"]),
                protects=protects,
            )
    return metas


def _load_entries(
    root: Path, metas: dict[str, DocumentMeta], problems: list[str]
) -> dict[tuple[str, str], Entry]:
    entries: dict[tuple[str, str], Entry] = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and p.name != "meta"):
        if folder.name not in KNOWN_LANGUAGES:
            problems.append(
                f"{folder}: unknown language folder {folder.name!r}; "
                f"use an ISO 639-1 code among {', '.join(sorted(KNOWN_LANGUAGES))}"
            )
            continue
        for path in _yaml_files(folder):
            for entry in _entries_in_file(path, folder.name, metas, problems):
                key = (entry.id, entry.lang)
                if key in entries:
                    problems.append(
                        f"{path}: duplicate id {entry.id!r} in language {entry.lang!r} "
                        f"(also in {entries[key].file})"
                    )
                    continue
                entries[key] = entry
    return entries


def _entries_in_file(
    path: Path, folder_lang: str, metas: dict[str, DocumentMeta], problems: list[str]
) -> Iterable[Entry]:
    data = read_yaml(path, problems)
    if data is None:
        return
    if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
        problems.append(f"{path}: expected 'lang:' and an 'entries:' list")
        return
    lang = str(data.get("lang") or "").strip()
    if lang not in KNOWN_LANGUAGES:
        problems.append(f"{path}: unknown language {lang!r}")
        return
    if lang != folder_lang:
        problems.append(f"{path}: says lang {lang!r} but lies in folder {folder_lang!r}")
        return
    for i, raw in enumerate(data["entries"]):
        where = f"{path} (entry #{i + 1})"
        if not isinstance(raw, dict) or not str(raw.get("id") or "").strip():
            problems.append(f"{where}: missing 'id'")
            continue
        entry_id = str(raw["id"]).strip()
        if entry_id not in metas:
            problems.append(f"{where}: id {entry_id!r} is not declared in corpus/meta/")
            continue
        title = str(raw.get("title") or "").strip()
        summary = one_line(str(raw.get("summary") or ""))
        if not summary:
            problems.append(f"{where}: {entry_id}: empty summary")
            continue
        if not title:
            problems.append(f"{where}: {entry_id}: empty title")
            continue
        questions = raw.get("questions") or []
        if not isinstance(questions, list):
            problems.append(f"{where}: {entry_id}: 'questions' must be a list")
            continue
        yield Entry(
            id=entry_id,
            lang=lang,
            title=title,
            summary=summary,
            questions=tuple(str(q).strip() for q in questions if str(q).strip()),
            file=str(path),
        )


def _check_complete(
    metas: dict[str, DocumentMeta], entries: dict[tuple[str, str], Entry], problems: list[str]
) -> None:
    for n in range(1, ICRMW_ARTICLES + 1):
        if f"icrmw:art{n}" not in metas:
            problems.append(f"corpus/meta: article icrmw:art{n} is not declared")
    for lang in COMPLETE_LANGUAGES:
        missing = [i for i in metas if (i, lang) not in entries]
        if missing:
            head = ", ".join(missing[:10]) + (" ..." if len(missing) > 10 else "")
            problems.append(f"language {lang!r} is missing {len(missing)} document(s): {head}")
