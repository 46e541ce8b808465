"""Reading catalogs: headings in both formats, files and folders, chunks, and the content hash."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.catalog import (
    CatalogError,
    Section,
    catalog_files,
    catalog_hash,
    chunk_catalog,
    chunk_section,
    parse_sections,
    read_sections,
)

EXPORT_FORMAT = """\
=== PRODUCT: Kestrel KX-420 Hydraulic Press ===
Product ID: KX-420

--- Description ---
A four-post press rated at 420 kN.

--- Safety Instructions ---
Lower the ram onto the safety blocks.

=== PRODUCT: Brantley BW-350 MIG Welder ===
--- Description ---
An inverter welder, 350 A at 60% duty cycle.
"""

MARKDOWN_FORMAT = """\
# Orrin OC-880 Belt Conveyor

## Description
A modular plastic belt conveyor.

## Operation Instructions
Five blinks mean belt slip.
### Not a section
still operation text
"""


def _words(count: int, start: int = 0) -> str:
    return " ".join(f"w{number}" for number in range(start, start + count))


def test_export_headings_give_products_and_sections() -> None:
    sections = list(parse_sections(EXPORT_FORMAT, "catalog.txt", "catalog"))

    assert [(section.product, section.title) for section in sections] == [
        ("Kestrel KX-420 Hydraulic Press", ""),
        ("Kestrel KX-420 Hydraulic Press", "Description"),
        ("Kestrel KX-420 Hydraulic Press", "Safety Instructions"),
        ("Brantley BW-350 MIG Welder", "Description"),
    ]
    assert sections[0].text == "Product ID: KX-420"
    assert sections[2].text == "Lower the ram onto the safety blocks."
    assert all(section.source == "catalog.txt" for section in sections)


def test_markdown_headings_give_products_and_sections() -> None:
    sections = list(parse_sections(MARKDOWN_FORMAT, "conveyor.md", "conveyor"))

    assert [(section.product, section.title) for section in sections] == [
        ("Orrin OC-880 Belt Conveyor", "Description"),
        ("Orrin OC-880 Belt Conveyor", "Operation Instructions"),
    ]
    assert "still operation text" in sections[1].text


def test_text_without_headings_belongs_to_the_file_product(tmp_path: Path) -> None:
    (tmp_path / "quillon_qd-40.txt").write_text("Bench drill, 40 mm in steel.", encoding="utf-8")

    sections = read_sections(tmp_path)

    assert [(section.product, section.title) for section in sections] == [("quillon qd 40", "")]


def test_chunks_overlap_and_keep_product_and_section() -> None:
    section = Section(product="Press", title="Safety", text=_words(50), source="catalog.txt")

    chunks = chunk_section(section, chunk_words=20, overlap_words=5)

    assert [chunk.text.split()[0] for chunk in chunks] == ["w0", "w15", "w30"]
    assert chunks[0].text.split()[-5:] == chunks[1].text.split()[:5]
    assert chunks[-1].text.split()[-1] == "w49"
    assert all(len(chunk.text.split()) <= 20 for chunk in chunks)
    assert {(chunk.product, chunk.section) for chunk in chunks} == {("Press", "Safety")}
    assert len({chunk.id for chunk in chunks}) == 3
    assert chunks[1].location == "catalog.txt#Press/Safety/1"


def test_short_section_is_one_chunk() -> None:
    section = Section(product="Press", title="", text=_words(7), source="catalog.txt")

    chunks = chunk_section(section, chunk_words=20, overlap_words=5)

    assert [chunk.text for chunk in chunks] == [_words(7)]
    assert chunks[0].location == "catalog.txt#Press/text/0"


def test_folder_catalog_reads_text_and_markdown_but_not_readme(tmp_path: Path) -> None:
    (tmp_path / "export.txt").write_text(EXPORT_FORMAT, encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "conveyor.md").write_text(MARKDOWN_FORMAT, encoding="utf-8")
    (tmp_path / "README.md").write_text("# Not a product\nabout this folder", encoding="utf-8")
    (tmp_path / "prices.csv").write_text("product,price\n", encoding="utf-8")

    files = catalog_files(tmp_path)
    products = {chunk.product for chunk in chunk_catalog(tmp_path, 20, 5)}

    assert [path.relative_to(tmp_path).as_posix() for path in files] == [
        "export.txt",
        "sub/conveyor.md",
    ]
    assert products == {
        "Kestrel KX-420 Hydraulic Press",
        "Brantley BW-350 MIG Welder",
        "Orrin OC-880 Belt Conveyor",
    }


def test_file_catalog_reads_only_that_file(tmp_path: Path) -> None:
    (tmp_path / "export.txt").write_text(EXPORT_FORMAT, encoding="utf-8")
    (tmp_path / "conveyor.md").write_text(MARKDOWN_FORMAT, encoding="utf-8")

    products = {chunk.product for chunk in chunk_catalog(tmp_path / "export.txt", 20, 5)}

    assert products == {"Kestrel KX-420 Hydraulic Press", "Brantley BW-350 MIG Welder"}


def test_missing_or_empty_catalog_is_an_error_naming_the_setting(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "blank.txt").write_text("\n  \n", encoding="utf-8")

    with pytest.raises(CatalogError, match="FMT_CATALOG"):
        catalog_files(tmp_path / "missing")
    with pytest.raises(CatalogError, match="FMT_CATALOG"):
        catalog_files(tmp_path / "empty")
    with pytest.raises(CatalogError, match="FMT_CATALOG"):
        read_sections(tmp_path / "blank.txt")


def test_hash_changes_with_content_and_files_only(tmp_path: Path) -> None:
    export = tmp_path / "export.txt"
    export.write_text(EXPORT_FORMAT, encoding="utf-8")
    first = catalog_hash(tmp_path)

    assert catalog_hash(tmp_path) == first
    export.write_text(EXPORT_FORMAT.replace("420 kN", "430 kN"), encoding="utf-8")
    changed = catalog_hash(tmp_path)
    assert changed != first
    (tmp_path / "conveyor.md").write_text(MARKDOWN_FORMAT, encoding="utf-8")
    assert catalog_hash(tmp_path) not in {first, changed}
