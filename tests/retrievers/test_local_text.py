"""What the local retriever indexes for a chunk, and how BM25 tokens are cut."""

from __future__ import annotations

from app.catalog import Chunk
from app.retrievers.local_text import indexed_text, tokenize


def test_codes_stay_whole_and_also_match_unpunctuated() -> None:
    tokens = tokenize("Fault E-21 on the KX-420")

    assert "e-21" in tokens
    assert "e21" in tokens
    assert "kx-420" in tokens
    assert "420" in tokens


def test_question_and_catalog_spellings_of_a_code_share_a_token() -> None:
    assert set(tokenize("what is E07")) & set(tokenize("E-07 means the light curtain"))


def test_stopwords_dropped_and_plurals_folded() -> None:
    tokens = tokenize("What are the pumps and the switches for?")

    assert "the" not in tokens
    assert "what" not in tokens
    assert "pump" in tokens
    assert "switch" in tokens


def test_indexed_text_names_product_and_section() -> None:
    chunk = Chunk(
        id="c1",
        product="Kestrel KX-420 Hydraulic Press",
        section="Safety Instructions",
        text="Wear safety glasses.",
        location="catalog.txt#x",
    )

    text = indexed_text(chunk)

    assert text.startswith("Kestrel KX-420 Hydraulic Press. Safety Instructions.")
    assert text.endswith("Wear safety glasses.")
    assert "press" in tokenize(text)
