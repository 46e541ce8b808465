"""Figures a sentence prescribes ("every 1,000 hours", "to 680 N·m") and what each measures.

A user asks for a figure by its measure: "How often …?", "What torque …?". The measure comes from
the figure's unit. A figure behind "above", "below", "over", "under", "exceeds" or "than" is a
condition of the sentence ("use shade 12 above 250 A"), not what it prescribes, and is not found.
"""

from __future__ import annotations

import re

CODE = r"(?:0x[0-9A-F]+|[A-Z]{1,4}-?[0-9]{1,5}[A-Z]?)"
"""An identifier like E-21, F-310, AL-1001, SW2, 0x8C10: letters and digits, at least one digit."""

_AMOUNT = r"[0-9][0-9,]*(?:\.[0-9]+)?(?:\s*(?:to|-|\u2013)\s*[0-9][0-9,]*(?:\.[0-9]+)?)?"
_QUALIFIER = (
    r"(?:(?:to|at|within|for|of|from|after)\s+)?"
    r"(?:(?:no more than|more than|less than|at least|at most|a maximum of|up to|about)\s+)?"
)
# A figure after one of these words is a condition of the instruction, not what it prescribes.
_CONDITION = r"(?<!above )(?<!below )(?<!over )(?<!under )(?<!exceeds )(?<!than )"
INTERVAL = re.compile(
    rf"\s*(?<!after )(?<!before )\b(?:every\s+(?:{_AMOUNT}\s+)?(?:operating\s+)?[a-z]+|"
    r"daily|weekly|monthly|yearly|annually|once a (?:day|week|month|year))(?:\s+or\s+[^,.]+)?"
)
_DURATION_UNITS = r"(?:seconds?|s|minutes?|min|hours?|h|days?|weeks?|months?|years?)"
# The measure a unit gives: what a user asks for ("What torque …?").
_UNIT_MEASURES: tuple[tuple[str, str], ...] = (
    ("N·m|Nm", "torque"),
    ("bar|MPa|kPa|Pa|psi", "pressure"),
    ("°C|°F", "temperature"),
    ("rpm|mm/s|m/s|m/min|km/h", "speed"),
    ("m³/h|m³/min|L/min|l/min", "flow"),
    ("kW|W", "power"),
    ("V", "voltage"),
    ("A|amps?", "current"),
    ("kg|g|t", "weight"),
    ("L|litres?|liters?|ml", "amount"),
    ("mm", "size"),
    ("cm|m", "distance"),
    ("dB\\(A\\)|dB", "noise level"),
    ("Hz", "frequency"),
    ("%", "share"),
    (_DURATION_UNITS, "time"),
)
_FIGURES = (
    *(
        (
            re.compile(rf"{_CONDITION}\b{_QUALIFIER}(?<![\w.-]){_AMOUNT}\s*(?:{units})(?![\w/²³])"),
            measure,
        )
        for units, measure in _UNIT_MEASURES
    ),
    (re.compile(r"\b[0-9]{1,3}(?:\.[0-9]{1,3}){3}\b"), "IP address"),
)


_UNIT = re.compile("|".join(f"(?:{units})" for units, _ in _UNIT_MEASURES))


def is_unit(word: str) -> bool:
    """The word is a unit ("bar", "rpm", "min"), which says nothing of what a figure is about."""
    return _UNIT.fullmatch(word) is not None


def prescribed(text: str) -> list[tuple[re.Match[str], str]]:
    """The figures the text prescribes and their measures, in order of appearance."""
    found = [(match, measure) for pattern, measure in _FIGURES for match in pattern.finditer(text)]
    return sorted(found, key=lambda pair: pair[0].start())


def figures(text: str) -> list[re.Match[str]]:
    """The figures the text prescribes, each with what qualifies it ("at least 5 minutes")."""
    return [match for match, _ in prescribed(text)]


def measures(text: str) -> list[str]:
    """What the text's figures measure, in order of appearance, each once."""
    return list(dict.fromkeys(measure for _, measure in prescribed(text)))
