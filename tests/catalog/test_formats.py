"""The sample catalog converted to every format reads as the same products and sections."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.catalog import ChunkSizes, chunk_sections, read_catalog
from app.settings import DocumentSettings
from tests.catalog.converters import CONVERTERS, sample_products

SECTIONS = ["Description", "Safety Instructions", "Configuration Manual", "Operation Instructions"]
SIZES = ChunkSizes(max_tokens=200, overlap_percent=20, min_section_words=12)


@pytest.mark.parametrize("name", sorted(CONVERTERS))
def test_every_format_gives_the_sample_products_and_sections(tmp_path: Path, name: str) -> None:
    products = sample_products()
    path = tmp_path / name
    CONVERTERS[name](products, path)

    catalog = read_catalog(path, DocumentSettings())

    assert catalog.products() == [product.name for product in products]
    assert catalog.skipped == []
    chunks = chunk_sections(catalog.sections, SIZES)
    for product in products:
        titles = {chunk.section for chunk in chunks if chunk.product == product.name}
        assert titles == set(SECTIONS), (name, product.name)
    # The lone product-code line is kept, merged into a real section, never a chunk of its own.
    assert all(len(chunk.text.split()) >= SIZES.min_section_words for chunk in chunks)
    assert any("KX-420" in chunk.text and chunk.section == "Description" for chunk in chunks)


def test_pdf_chunks_know_their_page(tmp_path: Path) -> None:
    path = tmp_path / "catalog.pdf"
    CONVERTERS["catalog.pdf"](sample_products(), path)

    chunks = chunk_sections(read_catalog(path, DocumentSettings()).sections, SIZES)

    pages = [chunk.page for chunk in chunks]
    assert None not in pages
    assert pages == sorted(pages) and pages[-1] is not None and pages[-1] > 3
    assert chunks[-1].location.startswith(f"catalog.pdf#page={pages[-1]}/")
