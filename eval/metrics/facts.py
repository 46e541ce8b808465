"""Fact recall: the share of a question's `must_mention` facts that an answer contains.

Matching compares token sequences, not characters, so formatting does not decide it:
case is ignored; "4,000" equals "4000" and "2.0" equals "2"; "N·m", "N m" and "Nm" are one
unit; "m³/h" equals "m3/h"; "PG2" equals "PG 2"; number words up to twenty equal their digits.
A number never matches inside a longer one ("5 minutes" is not found in "15 minutes").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

# One fact: any of its alternative phrasings counts ("5 minutes" or "5 min").
Fact = tuple[str, ...]

_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+")
_THOUSANDS = re.compile(r"\d{1,3}(?:,\d{3})+")
_NUMBER_WORDS = {
    word: str(value)
    for value, word in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
            "twenty",
        ]
    )
}


def canonical_number(text: str) -> str:
    """Canonical number: thousands separators dropped, trailing decimal zeros dropped."""
    if _THOUSANDS.fullmatch(text):
        text = text.replace(",", "")
    text = text.replace(",", ".")
    if text.count(".") == 1:
        whole, decimals = text.split(".")
        decimals = decimals.rstrip("0")
        text = f"{int(whole)}.{decimals}" if decimals else str(int(whole))
    elif "." not in text:
        text = str(int(text))
    return text


def tokens(text: str) -> list[str]:
    """Words and numbers in canonical form; single letters joined by a mark ("N·m", "N.m")
    become one unit, as written without it ("Nm")."""
    normalised = unicodedata.normalize("NFKC", text).casefold()
    found: list[str] = []
    joinable_end = -1  # where the previous token ended, when it was a single letter
    for match in _TOKEN.finditer(normalised):
        raw = match.group()
        if raw[0].isdigit():
            found.append(canonical_number(raw))
            joinable_end = -1
            continue
        word = _NUMBER_WORDS.get(raw, raw)
        gap = normalised[joinable_end : match.start()] if joinable_end >= 0 else ""
        single = len(word) == 1 and not word.isdigit()
        if single and len(gap) == 1 and not gap.isspace():
            found[-1] += word
            continue
        found.append(word)
        joinable_end = match.end() if single else -1
    return found


def contains(haystack: Sequence[str], needle: Sequence[str]) -> bool:
    """Whether `needle` occurs in `haystack` as a run of whole tokens."""
    if not needle:
        return False
    width = len(needle)
    return any(
        list(haystack[start : start + width]) == list(needle)
        for start in range(len(haystack) - width + 1)
    )


def mentions(answer: str, fact: Fact) -> bool:
    """Whether the answer states the fact in any of its phrasings."""
    answer_tokens = tokens(answer)
    return any(contains(answer_tokens, tokens(phrasing)) for phrasing in fact)


@dataclass(frozen=True, slots=True)
class FactCheck:
    """Which of a question's facts one answer carries."""

    found: tuple[Fact, ...]
    missing: tuple[Fact, ...]

    @property
    def recall(self) -> float:
        return len(self.found) / (len(self.found) + len(self.missing))


def check_facts(answer: str, facts: Sequence[Fact]) -> FactCheck | None:
    """None when the question lists no facts: no recall is reported rather than a made-up one."""
    if not facts:
        return None
    found = tuple(fact for fact in facts if mentions(answer, fact))
    missing = tuple(fact for fact in facts if fact not in found)
    return FactCheck(found, missing)
