"""Chunks follow sections, fall back to token windows with overlap, and never hold junk."""

from __future__ import annotations

import itertools
from pathlib import Path

from app.catalog import (
    ChunkSizes,
    Section,
    chunk_section,
    chunk_sections,
    read_catalog,
    split_text,
)
from app.core.token_count import estimate_text_tokens
from app.settings import DocumentSettings
from tests.catalog.pdf_writer import write_pdf

SIZES = ChunkSizes(max_tokens=200, overlap_percent=20, min_section_words=8)


def _sentences(count: int) -> str:
    return " ".join(f"Sentence number {n} talks about the press." for n in range(count))


def test_a_section_that_fits_is_one_chunk_with_product_section_file_and_page() -> None:
    section = Section("Press", "Safety", _sentences(3), "manual.pdf", page=2)

    (chunk,) = chunk_sections([section], ChunkSizes(200, 20, 5))

    assert (chunk.product, chunk.section, chunk.source, chunk.page) == (
        "Press",
        "Safety",
        "manual.pdf",
        2,
    )
    assert chunk.text == section.text
    assert chunk.location == "manual.pdf#page=2/Press/Safety/0"


def test_a_long_section_is_cut_in_token_windows_that_overlap_by_sentences() -> None:
    text = _sentences(40)

    windows = split_text(text, max_tokens=60, overlap_percent=20)

    assert len(windows) > 5
    assert all(estimate_text_tokens(window) <= 60 for window in windows)
    for previous, current in itertools.pairwise(windows):
        first_sentence = current.split(".")[0] + "."
        assert first_sentence in previous  # the window starts by repeating the last sentence
    assert "number 0 " in windows[0] and "number 39 " in windows[-1]


def test_no_overlap_means_windows_partition_the_text() -> None:
    windows = split_text(_sentences(30), max_tokens=50, overlap_percent=0)

    assert " ".join(windows) == _sentences(30)


def test_a_sentence_longer_than_a_window_is_cut_between_words() -> None:
    text = " ".join(f"word{n}" for n in range(300))

    windows = split_text(text, max_tokens=40, overlap_percent=0)

    assert all(estimate_text_tokens(window) <= 40 for window in windows)
    assert " ".join(windows) == text


def test_a_tiny_section_merges_into_its_neighbour_in_the_same_product_only() -> None:
    sections = [
        Section("Press", "", "Product ID: KX-420", "catalog.txt"),
        Section("Press", "Description", _sentences(2), "catalog.txt"),
        Section("Press", "Notes", "Keep it clean.", "catalog.txt"),
        Section("Welder", "Description", _sentences(2), "catalog.txt"),
    ]

    chunks = chunk_sections(sections, ChunkSizes(200, 20, 8))

    assert [(chunk.product, chunk.section) for chunk in chunks] == [
        ("Press", "Description"),
        ("Welder", "Description"),
    ]
    assert chunks[0].text.startswith("Product ID: KX-420\n")
    assert chunks[0].text.endswith("Notes: Keep it clean.")
    assert "Keep it clean" not in chunks[1].text


def test_a_product_with_only_a_tiny_section_keeps_it() -> None:
    sections = [
        Section("Press", "Description", _sentences(2), "a.txt"),
        Section("Gauge", "", "Reads 0 bar.", "b.txt"),
    ]

    chunks = chunk_sections(sections, ChunkSizes(200, 20, 8))

    assert [(chunk.product, chunk.text) for chunk in chunks][1] == ("Gauge", "Reads 0 bar.")


def test_chunk_ids_are_unique_even_for_repeated_headings() -> None:
    sections = [Section("Press", "Notes", _sentences(2), "a.txt")] * 2

    chunks = chunk_sections(sections, ChunkSizes(200, 20, 0))

    assert len({chunk.id for chunk in chunks}) == 2


def test_word_windows_for_training_sequences_overlap_and_keep_product() -> None:
    section = Section("Press", "Safety", " ".join(f"w{n}" for n in range(50)), "catalog.txt")

    chunks = chunk_section(section, chunk_words=20, overlap_words=5)

    assert [chunk.text.split()[0] for chunk in chunks] == ["w0", "w15", "w30"]
    assert chunks[-1].text.split()[-1] == "w49"
    assert {(chunk.product, chunk.section) for chunk in chunks} == {("Press", "Safety")}


def test_a_section_running_onto_the_next_page_gives_chunks_of_each_page(tmp_path: Path) -> None:
    steps = [f"Step {n} of the procedure keeps the ram locked out." for n in range(80)]
    write_pdf(tmp_path / "manual.pdf", ["OPERATION", *steps], title="Press")

    chunks = chunk_sections(read_catalog(tmp_path, DocumentSettings()).sections, SIZES)

    assert {chunk.page for chunk in chunks} == {1, 2}
    assert all(
        f"manual.pdf#page={chunk.page}/Press/OPERATION/" in chunk.location for chunk in chunks
    )
    assert "Step 79 " in chunks[-1].text and chunks[-1].page == 2


def test_a_few_words_on_the_next_page_stay_with_their_section(tmp_path: Path) -> None:
    steps = [f"Step {n} of the procedure." for n in range(54)]  # the last one on page 2
    maintenance = "Change the oil every 4,000 hours and the return filter every 1,000 hours."
    write_pdf(tmp_path / "manual.pdf", ["OPERATION", *steps, "MAINTENANCE", maintenance])

    chunks = chunk_sections(read_catalog(tmp_path, DocumentSettings()).sections, SIZES)

    (maintenance_chunk,) = [chunk for chunk in chunks if chunk.section == "MAINTENANCE"]
    assert maintenance_chunk.text == maintenance
    assert any("Step 53 " in chunk.text for chunk in chunks if chunk.section == "OPERATION")
