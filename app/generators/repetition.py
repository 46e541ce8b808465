"""Where a decode starts repeating itself: a sentence or list item again, or a phrase looping.

A small model that has said what it knows often goes on by saying it again, until `max_tokens`.
The local generator checks its growing answer with `repetition_start` after every token and stops
at the first repeat, cutting it off: the answer keeps each sentence once, and `finish_reason` says
`repetition` instead of `length`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Units: lines (list items are lines), each cut at its sentences' ends.
_LINE = re.compile(r"[^\n]*\n")
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+")
_LIST_MARK = re.compile(r"^\s*(?:[-*\u2022]|\(?\d{1,2}[.)])\s+")
_WORD = re.compile(r"\w+")
_DETERMINERS = frozenset({"the", "a", "an", "this", "that", "these", "those"})
"""Left out when units are compared: "Repeat this process" again as "Repeat the process" is a
repeat (a 135M model's loops vary them)."""
MIN_UNIT_WORDS = 3
"""Shorter units ("Yes.", "1.") may well come twice in a good answer."""
MIN_LOOP_WORDS = 2
LOOP_REPEATS = 3
"""A phrase said this many times in a row, with no sentence end, is a loop."""
MAX_LOOP_WORDS = 24
"""Longer loops end a sentence sooner or later, and are caught as repeated sentences."""


@dataclass(frozen=True, slots=True)
class _Unit:
    start: int
    words: tuple[str, ...]


def _units(text: str) -> list[_Unit]:
    """Complete units only: the text after the last boundary may still be growing."""
    units: list[_Unit] = []
    line_start = 0
    for line in [*_LINE.finditer(text), None]:
        end = line.end() if line is not None else len(text)
        body = text[line_start:end]
        mark = _LIST_MARK.match(body)
        start = line_start + (mark.end() if mark else 0)
        pieces = [*_SENTENCE_END.finditer(text, start, end)]
        bounds = [(start, piece.start()) for piece, start in _starts(pieces, start)]
        if line is not None:  # a finished line ends its last sentence too
            bounds.append((pieces[-1].end() if pieces else start, end))
        for index, (first, last) in enumerate(bounds):
            said = (word.casefold() for word in _WORD.findall(text, first, last))
            words = tuple(word for word in said if word not in _DETERMINERS)
            if words:
                # A repeated list item goes with its mark: the cut is where its line starts.
                units.append(_Unit(line_start if index == 0 else first, words))
        line_start = end
    return units


def _starts(pieces: list[re.Match[str]], start: int) -> list[tuple[re.Match[str], int]]:
    """Each sentence end with where its sentence started."""
    found = []
    for piece in pieces:
        found.append((piece, start))
        start = piece.end()
    return found


def _repeated_unit(text: str) -> int | None:
    seen: set[tuple[str, ...]] = set()
    for unit in _units(text):
        if len(unit.words) >= MIN_UNIT_WORDS and unit.words in seen:
            return unit.start
        seen.add(unit.words)
    return None


def _looping_tail(text: str) -> int | None:
    """Where a phrase's second saying starts, when the text ends by saying it `LOOP_REPEATS`
    times or more back to back."""
    matches = list(_WORD.finditer(text))
    words = [match.group().casefold() for match in matches]
    for width in range(MIN_LOOP_WORDS, min(MAX_LOOP_WORDS, len(words) // LOOP_REPEATS) + 1):
        tail = words[-width:]
        repeats = 1
        while (repeats + 1) * width <= len(words) and (
            words[len(words) - width * (repeats + 1) : len(words) - width * repeats] == tail
        ):
            repeats += 1
        if repeats >= LOOP_REPEATS:
            # Keep the phrase once: cut where its second saying starts.
            return matches[len(words) - width * (repeats - 1)].start()
    return None


def repetition_start(text: str) -> int | None:
    """The offset where `text` starts repeating itself, or None.

    A repeat is a sentence or list item (at least three words, compared by words, case,
    punctuation and determiners ignored, list marks dropped) equal to an earlier one, or a
    phrase of two or more words said three times in a row. `text[:offset]` is the answer
    without the repeat.
    """
    repeated = _repeated_unit(text)
    looping = _looping_tail(text)
    found = [offset for offset in (repeated, looping) if offset is not None]
    return min(found) if found else None
