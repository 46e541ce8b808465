"""Passages cut into sentences (or short lines), each remembering the passage it came from."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from app.core.types import Passage

# A sentence ends at . ! or ? followed by space and a capital, digit or quote; a line break
# always ends one (catalog lists and tables are one fact a line).
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])|\s*\n+\s*")
# A "sentence" longer than this is cut at commas so a span stays a short fact.
MAX_SPAN_WORDS = 25
# Catalog sentences list facts separated by semicolons ("E-14 means ...; E-21 means ..."): each
# is a span of its own, so the fact asked about is not drowned by its neighbours.
_CLAUSE_END = re.compile(r"(?<=;)\s+")
# In a long sentence of instructions, ", and <word>" opens the next one ("change the oil every
# 4,000 hours, and re-check the torque every 500 hours"); ", and 2 analog outputs" stays a list.
_NEXT_INSTRUCTION = re.compile(r"(?<=,)\s+(?=(?:and|then) [a-z])")
# Retrieved passages are catalog chunks, the same ones request after request.
SPLIT_PASSAGE_CACHE = 4096


@dataclass(frozen=True, slots=True)
class Span:
    """One sentence of one passage: `passage` is its rank in the retrieved list."""

    passage: int
    position: int
    text: str


def _split_long(sentence: str) -> list[str]:
    if len(sentence.split()) <= MAX_SPAN_WORDS:
        return [sentence]
    return [part for piece in _NEXT_INSTRUCTION.split(sentence) for part in _at_commas(piece)]


def _at_commas(sentence: str) -> list[str]:
    if len(sentence.split()) <= MAX_SPAN_WORDS:
        return [sentence]
    parts, current = [], ""
    for piece in re.split(r"(?<=,)\s+", sentence):
        candidate = f"{current} {piece}".strip()
        if current and len(candidate.split()) > MAX_SPAN_WORDS:
            parts.append(current)
            candidate = piece
        current = candidate
    if current:
        parts.append(current)
    return parts


def split_sentences(text: str) -> list[str]:
    """The sentences of `text`, in order, none empty."""
    return list(_sentences(text))


@lru_cache(maxsize=SPLIT_PASSAGE_CACHE)
def _sentences(text: str) -> tuple[str, ...]:
    sentences: list[str] = []
    for piece in _SENTENCE_END.split(text):
        for clause in _CLAUSE_END.split(piece.strip()):
            if clause:
                sentences.extend(_split_long(clause))
    return tuple(sentences)


def passage_spans(passages: Sequence[Passage]) -> list[Span]:
    """Every sentence of every passage, passage by passage in rank order."""
    return [span for rank, passage in enumerate(passages) for span in _spans(rank, passage.text)]


@lru_cache(maxsize=SPLIT_PASSAGE_CACHE)
def _spans(rank: int, text: str) -> tuple[Span, ...]:
    # Spans are immutable: the same passage at the same rank gives the same ones.
    return tuple(
        Span(passage=rank, position=position, text=sentence)
        for position, sentence in enumerate(_sentences(text))
    )
