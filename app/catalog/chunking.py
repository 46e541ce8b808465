"""Sections to chunks: one chunk per section when it fits, else token windows with overlap.

The windows follow the Knowledge Base's fixed-size chunking (a token budget and an overlap
percentage) but cut between sentences where they can. A section of a few words (a lone
`Product ID: KX-420` line) is merged into its neighbour first, and nothing crosses products.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from app.catalog.model import Chunk, Section
from app.catalog.reading import read_sections
from app.core.token_count import estimate_text_tokens
from app.settings import DocumentSettings, Settings

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


@dataclass(frozen=True, slots=True)
class ChunkSizes:
    """Most tokens per chunk, the share of a window its successor repeats, the smallest section."""

    max_tokens: int
    overlap_percent: int
    min_section_words: int

    @classmethod
    def of(cls, settings: Settings) -> ChunkSizes:
        """The sizes the local index uses (`FMT_RETRIEVAL__CHUNK_*`, `FMT_DOCUMENTS__*`)."""
        return cls(
            max_tokens=settings.retrieval.chunk_tokens,
            overlap_percent=settings.retrieval.chunk_overlap_percent,
            min_section_words=settings.documents.min_section_words,
        )


def _same_unit(left: Section, right: Section) -> bool:
    return left.product == right.product and left.source == right.source


def _continues(previous: Section, section: Section) -> bool:
    return _same_unit(previous, section) and previous.title == section.title and bool(section.title)


def _labelled(section: Section) -> str:
    return f"{section.title}: {section.text}" if section.title else section.text


def merge_small_sections(sections: Iterable[Section], min_words: int) -> list[Section]:
    """Sections of fewer than min_words words joined to the next (else previous) section of the
    same product in the same file; a product's only section stays as it is."""
    merged: list[Section] = []
    carried: Section | None = None
    for section in sections:
        small = len(section.text.split()) < min_words
        if small and carried is None and merged and _continues(merged[-1], section):
            # The last lines of a section on its next page stay with that section.
            merged[-1] = replace(merged[-1], text=f"{merged[-1].text}\n{section.text}")
            continue
        if carried is not None and _same_unit(carried, section):
            section = replace(section, text=f"{_labelled(carried)}\n{section.text}")
            section = replace(section, page=carried.page or section.page)
        elif carried is not None:
            merged.append(_into_previous(merged, carried))
        carried = None
        if len(section.text.split()) < min_words:
            carried = section
        else:
            merged.append(section)
    if carried is not None:
        merged.append(_into_previous(merged, carried))
    return merged


def _into_previous(merged: list[Section], small: Section) -> Section:
    if merged and _same_unit(merged[-1], small):
        previous = merged.pop()
        return replace(previous, text=f"{previous.text}\n{_labelled(small)}")
    return small


def _units(text: str, max_tokens: int) -> Iterator[tuple[str, int]]:
    """Sentences with their token counts; a sentence over the budget is cut between words."""
    for sentence in _SENTENCE_END.split(text):
        words = sentence.split()
        piece: list[str] = []
        piece_tokens = 0
        for word in words:
            tokens = estimate_text_tokens(word)
            if piece and piece_tokens + tokens > max_tokens:
                yield " ".join(piece), piece_tokens
                piece, piece_tokens = [], 0
            piece.append(word)
            piece_tokens += tokens
        if piece:
            yield " ".join(piece), piece_tokens


def split_text(text: str, max_tokens: int, overlap_percent: int) -> list[str]:
    """The text as windows of at most max_tokens, each repeating up to overlap_percent of the
    previous window's tokens (whole sentences) at its start."""
    if estimate_text_tokens(text) <= max_tokens:
        return [text.strip()]
    units = list(_units(text, max_tokens))
    overlap_tokens = max_tokens * overlap_percent // 100
    # Windows of even size rather than full ones and a scrap at the end: a window takes
    # sentences until it reaches the even share, never past max_tokens.
    text_tokens = sum(tokens for _, tokens in units)
    count = math.ceil((text_tokens - overlap_tokens) / (max_tokens - overlap_tokens))
    target = min(max_tokens, math.ceil((text_tokens - overlap_tokens) / count) + overlap_tokens)
    windows: list[str] = []
    start = 0
    while start < len(units):
        end, total = start, 0
        while end < len(units) and (
            end == start or (total < target and total + units[end][1] <= max_tokens)
        ):
            total += units[end][1]
            end += 1
        windows.append(" ".join(unit for unit, _ in units[start:end]))
        if end >= len(units):
            break
        back, repeated = end, 0
        while back - 1 > start and repeated + units[back - 1][1] <= overlap_tokens:
            back -= 1
            repeated += units[back][1]
        start = back
    return windows


def _location(section: Section, ordinal: int) -> str:
    page = f"page={section.page}/" if section.page is not None else ""
    return f"{section.source}#{page}{section.product}/{section.title or 'text'}/{ordinal}"


def chunk_sections(sections: Iterable[Section], sizes: ChunkSizes) -> list[Chunk]:
    """All chunks of the sections in order; each knows product, section, file and page."""
    chunks: list[Chunk] = []
    seen: dict[str, int] = {}
    for section in merge_small_sections(sections, sizes.min_section_words):
        for ordinal, text in enumerate(
            split_text(section.text, sizes.max_tokens, sizes.overlap_percent)
        ):
            location = _location(section, ordinal)
            # The same heading twice in one product still gives distinct ids.
            repeat = seen.get(location, 0)
            seen[location] = repeat + 1
            chunk_id = hashlib.sha1(f"{location}|{repeat}".encode()).hexdigest()[:16]
            chunks.append(
                Chunk(
                    id=chunk_id,
                    product=section.product,
                    section=section.title,
                    text=text,
                    location=location,
                    source=section.source,
                    page=section.page,
                )
            )
    return chunks


def chunk_section(section: Section, chunk_words: int, overlap_words: int) -> list[Chunk]:
    """Word windows of one section (the fine-tune's training sequences are counted in words)."""
    words = section.text.split()
    step = max(1, chunk_words - overlap_words)
    chunks: list[Chunk] = []
    for start in range(0, max(1, len(words)), step):
        window = words[start : start + chunk_words]
        if not window:
            break
        location = _location(section, len(chunks))
        chunks.append(
            Chunk(
                id=hashlib.sha1(location.encode()).hexdigest()[:16],
                product=section.product,
                section=section.title,
                text=" ".join(window),
                location=location,
                source=section.source,
                page=section.page,
            )
        )
        if start + chunk_words >= len(words):
            break
    return chunks


def chunk_catalog(
    catalog: Path, sizes: ChunkSizes, settings: DocumentSettings | None = None
) -> list[Chunk]:
    """All chunks of the catalog, in catalog order (what the local index holds)."""
    return chunk_sections(read_sections(catalog, settings), sizes)
