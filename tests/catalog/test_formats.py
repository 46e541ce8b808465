"""The sample catalog converted to every format reads as the same products and sections."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.catalog import ChunkSizes, chunk_sections, read_catalog
from app.settings import DocumentSettings
from infra.finetune.catalog_qa import catalog_facts
from tests.catalog.converters import CONVERTERS, SAMPLE_CATALOG, sample_products

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


@pytest.mark.parametrize("name", sorted(CONVERTERS))
def test_the_fine_tune_reads_the_same_facts_from_every_format(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    CONVERTERS[name](sample_products(), path)

    facts = {(fact.product, fact.section, fact.text) for fact in catalog_facts(path)}

    expected = {(f.product, f.section, f.text) for f in catalog_facts(SAMPLE_CATALOG)}
    if name.endswith(".pdf"):
        # The test PDF's standard font has no glyph for a few characters (Ω), as real PDFs can lack.
        assert len(facts & expected) >= 0.98 * len(expected)
        assert {fact[:2] for fact in facts} == {fact[:2] for fact in expected}
    else:
        assert facts == expected
