"""Figures an answer states that nothing it was given supports: invented numbers and codes.

A figure is a number written in digits, with the letters joined to it when it is part of a
code ("E-33", "PG2", "KX-RF10"; "4,000 hours" is the figure 4000). It is supported when its
tokens appear, in order, in the question, the reference answer or the returned sources, with
the same formatting-insensitive matching as fact recall (`eval.metrics.facts.tokens`): "4,000"
is supported by "4000", "E-33" by "E33". Numbers spelled as words ("one of the") and list
markers ("1. Open the valve") are not figures.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

from eval.metrics.facts import canonical_number, contains, tokens

_PIECE = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+")
_CODE_JOINERS = frozenset("-/.")
_LIST_MARKER = re.compile(r"^\s*(\d+)[.)]\s", re.MULTILINE)


def figures(text: str) -> list[tuple[str, ...]]:
    """Each figure of `text` as a token sequence, in order of appearance."""
    normalised = unicodedata.normalize("NFKC", text).casefold()
    markers = {match.start(1) for match in _LIST_MARKER.finditer(normalised)}
    found: list[tuple[str, ...]] = []
    previous: re.Match[str] | None = None
    for match in _PIECE.finditer(normalised):
        raw = match.group()
        if raw[0].isdigit() and match.start() not in markers:
            figure: tuple[str, ...] = (canonical_number(raw),)
            if previous is not None and not previous.group()[0].isdigit():
                gap = normalised[previous.end() : match.start()]
                if gap == "" or gap in _CODE_JOINERS:
                    figure = (previous.group(), *figure)
            found.append(figure)
        previous = match
    return found


def unsupported_figures(answer: str, supports: Iterable[str]) -> list[str]:
    """The answer's figures found in none of the supporting texts, as the answer wrote them
    (joined tokens), without repeats."""
    haystacks = [tokens(text) for text in supports if text]
    unsupported: list[str] = []
    for figure in figures(answer):
        shown = " ".join(figure)
        if shown in unsupported:
            continue
        if not any(contains(haystack, list(figure)) for haystack in haystacks):
            unsupported.append(shown)
    return unsupported


def supporting_texts(question: str, reference: str, sources: Sequence[str]) -> list[str]:
    """What may justify a figure: what the user wrote, the reference, and what was retrieved."""
    return [question, reference, *sources]
