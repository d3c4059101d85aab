"""Ingestion of outside documents (plain text, Markdown, HTML, PDF) into cited chunks.

A deployment adds its own material (an official text, national law, a hotline's leaflet) with
``rights ingest FILE``. Every chunk keeps its provenance: the source file, the page (PDF) or the
paragraph numbers, and character offsets into the extracted text of that page or document, so
that an answer can point at exactly where it came from.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar

from knowledge.errors import IngestionError
from knowledge.vocab import SENTENCE_END

FORMATS = {".txt": "text", ".text": "text", ".md": "markdown", ".markdown": "markdown",
           ".html": "html", ".htm": "html", ".pdf": "pdf"}  # fmt: skip
DEFAULT_MAX_CHARS = 900


@dataclass(frozen=True)
class Chunk:
    """A passage of an outside document with where it came from."""

    id: str
    source: str
    lang: str
    text: str
    page: int | None
    paragraphs: tuple[int, int]
    start: int
    end: int

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, line: str) -> Chunk:
        raw = json.loads(line)
        raw["paragraphs"] = tuple(raw["paragraphs"])
        return cls(**raw)


@dataclass(frozen=True)
class _Block:
    """One paragraph of extracted text with its offsets in that text."""

    text: str
    start: int
    end: int
    number: int


class _TextExtractor(HTMLParser):
    _SKIP: ClassVar[set[str]] = {"script", "style", "noscript", "template", "head"}
    _BLOCK: ClassVar[set[str]] = {"p", "div", "li", "br", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "section",
              "article", "blockquote", "pre", "table", "ul", "ol", "dd", "dt"}  # fmt: skip

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in self._BLOCK:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self._skipping:
            self._skipping -= 1
        elif tag in self._BLOCK:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    text = "".join(parser.parts)
    text = re.sub(r"[ \t\r\f\v]+", " ", text)
    return re.sub(r"\n\s*\n+", "\n\n", text).strip()


def _markdown_to_text(md: str) -> str:
    text = re.sub(r"^---\n.*?\n---\n", "", md, flags=re.S)  # front matter
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", text)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"^\s{0,3}#{1,6}\s*", "", text, flags=re.M)
    text = re.sub(r"^\s*[-*+]\s+", "", text, flags=re.M)
    return re.sub(r"[*_`]{1,3}", "", text)


def _blocks(text: str, markdown_like: bool) -> list[_Block]:
    """Paragraphs with offsets. Markdown wraps paragraphs over lines; plain text does not."""
    separator = re.compile(r"\n\s*\n" if markdown_like else r"\n")
    blocks: list[_Block] = []
    pos = 0
    for match in [*separator.finditer(text), None]:
        end = match.start() if match else len(text)
        raw = text[pos:end]
        stripped = raw.strip()
        if stripped:
            lead = len(raw) - len(raw.lstrip())
            start = pos + lead
            blocks.append(_Block(" ".join(stripped.split()), start, start + len(stripped),
                                 len(blocks) + 1))
        pos = match.end() if match else len(text)
    return blocks


def _split_long(block: _Block, max_chars: int) -> Iterator[_Block]:
    if len(block.text) <= max_chars:
        yield block
        return
    sentences = SENTENCE_END.split(block.text)
    current: list[str] = []
    offset = block.start
    for sentence in sentences:
        if current and len(" ".join([*current, sentence])) > max_chars:
            piece = " ".join(current)
            yield _Block(piece, offset, offset + len(piece), block.number)
            offset += len(piece) + 1
            current = []
        current.append(sentence)
    if current:
        piece = " ".join(current)
        yield _Block(piece, offset, min(block.end, offset + len(piece)), block.number)


def _merge(blocks: Iterable[_Block], max_chars: int) -> Iterator[list[_Block]]:
    group: list[_Block] = []
    size = 0
    for block in blocks:
        for piece in _split_long(block, max_chars):
            if group and size + len(piece.text) > max_chars:
                yield group
                group, size = [], 0
            group.append(piece)
            size += len(piece.text) + 1
    if group:
        yield group


def _pages(path: Path, fmt: str) -> list[tuple[int | None, str]]:
    """The document's text, as (page number or None, text) pairs."""
    try:
        if fmt == "pdf":
            from pypdf import PdfReader
            from pypdf.errors import PdfReadError

            try:
                reader = PdfReader(str(path))
                pages: list[tuple[int | None, str]] = [
                    (i + 1, page.extract_text() or "") for i, page in enumerate(reader.pages)]
            except PdfReadError as exc:
                raise IngestionError(f"{path}: not a readable PDF ({exc})") from exc
            if not any(text.strip() for _, text in pages):
                raise IngestionError(
                    f"{path}: the PDF has no text layer (a scan?); run OCR on it first"
                )
            return pages
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise IngestionError(f"{path}: not UTF-8 text; convert it to UTF-8 first") from exc
        if fmt == "html":
            text = html_to_text(text)
        elif fmt == "markdown":
            text = _markdown_to_text(text)
        return [(None, text)]
    except OSError as exc:
        raise IngestionError(f"{path}: cannot read ({exc.strerror})") from exc


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "document"


def chunk_document(
    path: Path | str,
    id_prefix: str | None = None,
    lang: str | None = None,
    max_chars: int = DEFAULT_MAX_CHARS,
) -> list[Chunk]:
    """Read one document and cut it into chunks of at most about ``max_chars`` characters."""
    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise IngestionError(
            f"{path}: unsupported file type {path.suffix!r}; use one of {', '.join(sorted(FORMATS))}"
        )
    if not path.is_file():
        raise IngestionError(f"{path}: no such file")
    prefix = id_prefix or f"local:{slug(path.stem)}"
    pages = _pages(path, fmt)
    if lang is None:
        from knowledge.answers.language import LanguageIdentifier

        sample = " ".join(text for _, text in pages)[:2000]
        lang = LanguageIdentifier().identify(sample).lang
    chunks: list[Chunk] = []
    for page, text in pages:
        for group in _merge(_blocks(text, markdown_like=fmt != "text"), max_chars):
            first, last = group[0], group[-1]
            where = f"p{page}." if page is not None else ""
            chunks.append(
                Chunk(
                    id=f"{prefix}:{where}para{first.number}",
                    source=path.name,
                    lang=lang,
                    text=" ".join(b.text for b in group),
                    page=page,
                    paragraphs=(first.number, last.number),
                    start=first.start,
                    end=last.end,
                )
            )
    if not chunks:
        raise IngestionError(f"{path}: no text found")
    return _unique_ids(chunks)


def _unique_ids(chunks: list[Chunk]) -> list[Chunk]:
    """Long paragraphs split into several chunks; number the extra pieces."""
    seen: dict[str, int] = {}
    out = []
    for chunk in chunks:
        n = seen.get(chunk.id, 0)
        seen[chunk.id] = n + 1
        if n:
            chunk = Chunk(**{**asdict(chunk), "id": f"{chunk.id}.{n}"})
        out.append(chunk)
    return out


def save_chunks(chunks: list[Chunk], folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"{slug(name)}.jsonl"
    tmp = out.with_suffix(".jsonl.tmp")
    tmp.write_text("".join(c.to_json() + "\n" for c in chunks), encoding="utf-8")
    tmp.replace(out)
    return out


def load_chunks(folder: Path) -> list[Chunk]:
    if not folder.is_dir():
        return []
    chunks: list[Chunk] = []
    for path in sorted(folder.glob("*.jsonl")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                try:
                    chunks.append(Chunk.from_json(line))
                except (ValueError, TypeError, KeyError) as exc:
                    raise IngestionError(
                        f"{path}:{n}: not a chunk record ({exc}); ingest the document again"
                    ) from exc
    return chunks
