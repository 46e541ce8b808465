"""Files that cannot be used are skipped with the file and the reason; only nothing is an error."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

from app.catalog import CatalogError, read_catalog
from app.catalog.__main__ import main as catalog_command
from app.settings import DocumentSettings
from tests.catalog.pdf_writer import write_pdf

GOOD = (
    "=== PRODUCT: Kestrel KX-420 Press ===\n--- Description ---\n"
    "A four-post hydraulic press rated at 420 kN for stamping, deep drawing and straightening.\n"
)


def _encrypted_pdf(path: Path) -> None:
    plain = path.with_suffix(".plain")
    write_pdf(plain, ["Secret manual text."], title="Locked")
    writer = PdfWriter(clone_from=PdfReader(plain))
    writer.encrypt(user_password="secret", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    path.write_bytes(buffer.getvalue())
    plain.unlink()


def _bad_folder(folder: Path) -> dict[str, str]:
    """Every kind of bad file, and the words of the reason each must be skipped with."""
    folder.mkdir()
    (folder / "empty.md").write_bytes(b"")
    write_pdf(folder / "scanned.pdf", ["a scanned page"], title="Scan", text=False)
    _encrypted_pdf(folder / "locked.pdf")
    (folder / "broken.docx").write_bytes(b"PK\x03\x04 this is not really a zip archive")
    (folder / "junk.txt").write_bytes(bytes(range(256)) * 8)
    (folder / "huge.txt").write_text("word " * 300_000, encoding="utf-8")
    (folder / "spaces.html").write_text("<html><body>  </body></html>", encoding="utf-8")
    return {
        "empty.md": "empty file",
        "scanned.pdf": "without a text layer",
        "locked.pdf": "encrypted",
        "broken.docx": "not a readable Word file",
        "junk.txt": "binary content",
        "huge.txt": "FMT_DOCUMENTS__MAX_FILE_MB",
        "spaces.html": "no text found",
    }


SMALL_LIMIT = DocumentSettings(max_file_mb=1)


def test_each_bad_file_is_skipped_with_its_name_and_reason(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "kb"
    expected = _bad_folder(folder)
    (folder / "good.txt").write_text(GOOD, encoding="utf-8")

    catalog = read_catalog(folder, SMALL_LIMIT)

    assert catalog.products() == ["Kestrel KX-420 Press"]
    reasons = {item.source: item.reason for item in catalog.skipped}
    assert set(reasons) == set(expected)
    for source, words in expected.items():
        assert words in reasons[source], (source, reasons[source])
        assert any(source in record.getMessage() for record in caplog.records), source


def test_nothing_readable_is_one_clear_error_listing_every_file(tmp_path: Path) -> None:
    folder = tmp_path / "kb"
    expected = _bad_folder(folder)

    with pytest.raises(CatalogError, match="FMT_CATALOG") as raised:
        read_catalog(folder, SMALL_LIMIT)

    assert all(source in str(raised.value) for source in expected)


def test_a_password_free_encrypted_pdf_is_read(tmp_path: Path) -> None:
    plain = tmp_path / "plain.pdf"
    write_pdf(plain, ["Range is 10 mm."], title="Halden HP-30 Sensor")
    writer = PdfWriter(clone_from=PdfReader(plain))
    writer.encrypt(user_password="", owner_password="owner", algorithm="RC4-128")
    plain.unlink()
    with (tmp_path / "owner-locked.pdf").open("wb") as stream:
        writer.write(stream)

    assert read_catalog(tmp_path, SMALL_LIMIT).products() == ["Halden HP-30 Sensor"]


def test_inspect_shows_products_chunks_and_warnings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FMT_DOCUMENTS__MAX_FILE_MB", "1")
    folder = tmp_path / "kb"
    _bad_folder(folder)
    (folder / "good.txt").write_text(GOOD, encoding="utf-8")
    (folder / "stub.md").write_text("# Gauge\nReads 0 bar.\n", encoding="utf-8")

    assert catalog_command(["inspect", str(folder)]) == 0

    out = capsys.readouterr().out
    assert "products: 2" in out
    assert "Kestrel KX-420 Press  [good.txt]  1 sections, 1 chunks: Description" in out
    assert "skipped locked.pdf: encrypted PDF that needs a password" in out
    assert "skipped junk.txt: binary content" in out
    assert "product 'Gauge' has only 3 words of text (stub.md)" in out


def test_inspect_of_an_unreadable_catalog_says_why_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "empty.txt").write_bytes(b"")

    assert catalog_command(["inspect", str(tmp_path)]) == 2

    err = capsys.readouterr().err
    assert err.startswith("error: FMT_CATALOG") and "empty.txt: empty file" in err
    assert "Traceback" not in err


def test_a_200_mb_file_is_skipped_by_the_default_limit_without_being_read(
    tmp_path: Path,
) -> None:
    (tmp_path / "good.txt").write_text(GOOD, encoding="utf-8")
    with (tmp_path / "scans.pdf").open("wb") as stream:
        stream.truncate(200 * 1024 * 1024)  # sparse: nothing is written to disk

    catalog = read_catalog(tmp_path, DocumentSettings())

    assert [(item.source, item.reason) for item in catalog.skipped] == [
        ("scans.pdf", "200 MB is over FMT_DOCUMENTS__MAX_FILE_MB=50")
    ]
