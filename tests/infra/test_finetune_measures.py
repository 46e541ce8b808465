"""The figures a catalog sentence prescribes, and what each measures."""

from __future__ import annotations

import pytest

from infra.finetune.measures import figures, is_unit, measures


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Tighten the nuts to no more than 75 N·m.", ["to no more than 75 N·m"]),
        ("Wait at least 5 minutes and confirm PG2 reads 0 bar.", ["at least 5 minutes", "0 bar"]),
        ("It runs from 1.5 to 22 m/min at 65 °C.", ["from 1.5 to 22 m/min", "at 65 °C"]),
        ("The default IP address is 192.168.0.42.", ["192.168.0.42"]),
        ("Use shade 12 or darker above 250 A.", []),  # a condition, not what is prescribed
        ("The gap must not be larger than 5 mm.", []),
        ("The weld-immune variant, the HP-30W, has a PTFE face.", []),  # a model code
        ("Use wire no larger than 1.5 mm² in the terminals.", []),
    ],
)
def test_figures_are_what_a_sentence_prescribes(text: str, found: list[str]) -> None:
    assert [figure.group() for figure in figures(text)] == found


def test_measures_come_from_units_in_order_each_once() -> None:
    text = "It weighs 3,850 kg, emits 72 dB(A) and 70 dB(A) idle, and stops at 65 °C."

    assert measures(text) == ["weight", "noise level", "temperature"]


def test_units_are_known_as_units() -> None:
    assert all(is_unit(word) for word in ("bar", "rpm", "min", "mm", "hours"))
    assert not any(is_unit(word) for word in ("spindle", "Bar", "oil"))
