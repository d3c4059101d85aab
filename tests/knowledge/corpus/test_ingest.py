from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.corpus.ingest import Chunk, chunk_document, html_to_text, load_chunks, save_chunks
from knowledge.errors import IngestionError


def _minimal_pdf(pages: list[str]) -> bytes:
    """A valid PDF with a real text layer, one line of Helvetica text per page."""
    objects: list[bytes] = []
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(len(pages)))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    font_id = 3 + 2 * len(pages)
    for i, text in enumerate(pages):
        stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {4 + 2 * i} 0 R "
            f"/Resources << /Font << /F1 {font_id} 0 R >> >> >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


@pytest.mark.parametrize("name", ["cmw-meeting-with-states-2019.txt", "cmw-input-hlpf-sdgs.txt"])
def test_seed_documents_chunk_with_provenance(seeds_dir: Path, name: str) -> None:
    path = seeds_dir / name
    raw = path.read_text("utf-8-sig")
    chunks = chunk_document(path, id_prefix="seed:test")
    assert len(chunks) >= 10
    assert len({c.id for c in chunks}) == len(chunks)
    assert all(c.source == name and c.lang == "en" and c.page is None for c in chunks)
    for chunk in chunks:
        # the offsets point at the chunk's own words in the document
        assert chunk.text[:40].split()[:3] == raw[chunk.start : chunk.end].split()[:3]
        assert len(chunk.text) <= 1100
        assert chunk.paragraphs[0] <= chunk.paragraphs[1]
    # nothing of the document is lost: every paragraph number is in some chunk
    covered = set()
    for c in chunks:
        covered.update(range(c.paragraphs[0], c.paragraphs[1] + 1))
    assert covered == set(range(1, max(covered) + 1))


def test_seed_meeting_mentions_its_themes(seeds_dir: Path) -> None:
    text = " ".join(c.text for c in chunk_document(seeds_dir / "cmw-meeting-with-states-2019.txt"))
    assert "258 million migrants" in text


def test_markdown_drops_markup_and_keeps_paragraphs(tmp_path: Path) -> None:
    path = tmp_path / "leaflet.md"
    path.write_text("---\ntitle: x\n---\n# Your rights\n\nYou can keep your **passport**.\n"
                    "It is [yours](http://example.invalid).\n\n- Call the hotline.\n", "utf-8")
    chunks = chunk_document(path, max_chars=40)
    assert chunks[0].id == "local:leaflet:para1"
    text = " ".join(c.text for c in chunks)
    assert "**" not in text and "http" not in text and "title: x" not in text
    assert "You can keep your passport. It is yours." in text


def test_html_skips_scripts_and_splits_blocks(tmp_path: Path) -> None:
    assert html_to_text("<p>a &amp; b</p><script>evil()</script><p>c</p>") == "a & b\n\nc"
    path = tmp_path / "page.html"
    path.write_text("<html><head><title>T</title></head><body><h1>Droits</h1>"
                    "<p>Vous avez le droit de garder votre passeport.</p></body></html>", "utf-8")
    chunks = chunk_document(path, lang="fr")
    assert chunks[0].lang == "fr"
    assert "passeport" in chunks[0].text and "T" not in chunks[0].text.split()


def test_pdf_text_layer_with_pages(tmp_path: Path) -> None:
    path = tmp_path / "law.pdf"
    path.write_bytes(_minimal_pdf(["Workers may keep their passports.", "Employers must pay wages."]))
    chunks = chunk_document(path)
    assert [c.page for c in chunks] == [1, 2]
    assert chunks[1].id == "local:law:p2.para1"
    assert "wages" in chunks[1].text


def test_pdf_without_text_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "scan.pdf"
    path.write_bytes(_minimal_pdf([""]))
    with pytest.raises(IngestionError, match="no text layer"):
        chunk_document(path)


@pytest.mark.parametrize("name,content,message", [
    ("a.docx", b"x", "unsupported file type"),
    ("b.txt", b"\xff\xfe\x00bad", "not UTF-8"),
    ("c.pdf", b"not a pdf", "not a readable PDF"),
    ("d.txt", b"   \n\n", "no text found"),
])
def test_bad_input_is_refused_clearly(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(IngestionError, match=message):
        chunk_document(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(IngestionError, match="no such file"):
        chunk_document(tmp_path / "nope.txt")


def test_chunks_round_trip(tmp_path: Path) -> None:
    chunk = Chunk("local:x:para1", "x.txt", "en", "text", None, (1, 2), 0, 4)
    save_chunks([chunk], tmp_path, "x")
    assert load_chunks(tmp_path) == [chunk]
