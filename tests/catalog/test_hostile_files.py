"""One hostile file never takes the catalog down: it is a skip with its reason (issue 27)."""

from __future__ import annotations

import os
import resource
from pathlib import Path

import pytest

from app.catalog import read_catalog
from app.catalog.__main__ import main as catalog_command
from app.settings import DocumentSettings
from tests.catalog.hostile_files import (
    write_deep_json,
    write_inflating_docx,
    write_truncated_docx,
    write_unsupported_method_docx,
)

GOOD = (
    "=== PRODUCT: Kestrel KX-420 Press ===\n--- Description ---\n"
    "A four-post hydraulic press rated at 420 kN for stamping, deep drawing and straightening.\n"
)


def _with_good_file(folder: Path) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "good.txt").write_text(GOOD, encoding="utf-8")
    return folder


@pytest.mark.parametrize(
    ("name", "write", "reason"),
    [
        ("truncated.docx", write_truncated_docx, "not a readable Word file (broken XML"),
        ("deflate64.docx", write_unsupported_method_docx, "unsupported method (9)"),
        ("deep.json", write_deep_json, "FMT_DOCUMENTS__MAX_JSON_DEPTH=32"),
    ],
    ids=["truncated-docx-xml", "unsupported-zip-method", "json-100000-deep"],
)
def test_a_broken_file_next_to_a_good_one_is_a_skip_with_its_reason(
    tmp_path: Path, name: str, write: object, reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _with_good_file(tmp_path / "kb")
    assert callable(write)
    write(folder / name)

    catalog = read_catalog(folder, DocumentSettings())

    assert catalog.products() == ["Kestrel KX-420 Press"]
    [skipped] = catalog.skipped
    assert skipped.source == name and reason in skipped.reason
    assert catalog_command(["inspect", str(folder)]) == 0
    assert f"skipped {name}: " in capsys.readouterr().out


def test_a_word_file_inflating_to_200_mb_is_skipped_from_its_index(tmp_path: Path) -> None:
    folder = _with_good_file(tmp_path / "kb")
    bomb = write_inflating_docx(folder / "bomb.docx", unpacked_mb=200)
    assert bomb.stat().st_size < 1024 * 1024  # small on disk, under every file-size limit
    resident_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    catalog = read_catalog(folder, DocumentSettings())

    assert [(item.source, item.reason) for item in catalog.skipped] == [
        ("bomb.docx", "'word/document.xml' unpacks to 200 MB, over FMT_DOCUMENTS__MAX_MARKUP_MB=20")
    ]
    # Nothing was inflated: the peak resident size (kB on Linux) grew by less than 50 MB.
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - resident_before
    assert grown_kb < 50 * 1024


def test_a_word_file_is_skipped_once_all_it_unpacks_to_passes_the_limit(tmp_path: Path) -> None:
    folder = _with_good_file(tmp_path / "kb")
    write_inflating_docx(folder / "big.docx", unpacked_mb=3)

    catalog = read_catalog(folder, DocumentSettings(max_unpacked_mb=2))

    assert [item.reason for item in catalog.skipped] == [
        "unpacks to more than 2 MB (FMT_DOCUMENTS__MAX_UNPACKED_MB)"
    ]


def test_a_file_with_more_text_than_the_limit_is_skipped(tmp_path: Path) -> None:
    folder = _with_good_file(tmp_path / "kb")
    (folder / "long.md").write_text("# Long\n" + "word " * 300_000, encoding="utf-8")

    catalog = read_catalog(folder, DocumentSettings(max_text_mb=1))

    assert [(item.source, item.reason) for item in catalog.skipped] == [
        ("long.md", "more than 1 million characters of text (FMT_DOCUMENTS__MAX_TEXT_MB)")
    ]


def test_links_and_linked_folders_are_skipped_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "passwd.txt"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n", encoding="utf-8")
    folder = _with_good_file(tmp_path / "kb")
    os.symlink(secret, folder / "notes.txt")
    os.symlink(outside, folder / "more")

    catalog = read_catalog(folder, DocumentSettings())

    assert catalog.products() == ["Kestrel KX-420 Press"]
    assert all("root:x" not in section.text for section in catalog.sections)
    assert [(item.source, item.reason) for item in catalog.skipped] == [
        ("more", "a symbolic link: links are not followed"),
        ("notes.txt", "a symbolic link: links are not followed"),
    ]
