"""Unsupported figures: numbers and codes an answer states that nothing it was given does."""

from __future__ import annotations

import re

import pytest

from eval.metrics.figures import figures, unsupported_figures
from eval.settings import PROJECT_ROOT
from eval.testset import load_testset

SOURCE = (
    "Fault codes: E-21 means set pressure was not reached within 8 s; E-33 means a linear "
    "encoder fault. Change the hydraulic oil every 4,000 hours. Check gauge PG2."
)


def test_figures_keep_their_code_letters() -> None:
    assert figures("E-33 and PG2 at 4,000 hours, KX-RF10") == [
        ("e", "33"),
        ("pg", "2"),
        ("4000",),
        ("rf", "10"),
    ]


def test_list_markers_and_number_words_are_not_figures() -> None:
    assert figures("1. Open the valve.\n2) Wait one minute.\nThen close it.") == []


@pytest.mark.parametrize(
    "answer",
    [
        "Change it every 4000 hours.",
        "E33 is an encoder fault.",
        "Wait until pg 2 reads zero; it takes 8 s.",
    ],
)
def test_figures_found_in_the_sources_are_supported(answer: str) -> None:
    assert unsupported_figures(answer, [SOURCE]) == []


def test_an_invented_interval_is_caught() -> None:
    answer = "Change the hydraulic oil every 1,500 hours, and code E-34 means a jam."
    assert unsupported_figures(answer, ["How often?", "Every 4,000 hours.", SOURCE]) == [
        "1500",
        "e 34",
    ]


def test_a_figure_in_the_question_is_supported() -> None:
    assert unsupported_figures("E-99 means nothing here.", ["And E-99?"]) == []


def test_a_number_inside_a_longer_one_does_not_support_it() -> None:
    assert unsupported_figures("Wait 5 minutes.", ["Wait 15 minutes."]) == ["5"]


def test_on_the_sample_catalog_true_answers_pass_and_altered_ones_are_caught() -> None:
    """Each reference answer against its own product's text: none flagged; the same answers
    with every number raised by one: nearly all flagged (one states no number, and a raised
    number can occur elsewhere in the product's text)."""
    catalog = (PROJECT_ROOT / "data" / "kb" / "catalog.txt").read_text(encoding="utf-8")
    names = re.findall(r"=== PRODUCT: (.*?) ===", catalog)
    products = dict(zip(names, re.split(r"=== PRODUCT: .*? ===", catalog)[1:], strict=True))
    questions = load_testset(PROJECT_ROOT / "data" / "test" / "test.json")

    def flagged(answer: str, question: str, product: str) -> bool:
        return bool(unsupported_figures(answer, [question, products[product]]))

    def bumped(text: str) -> str:
        return re.sub(r"\d+", lambda number: str(int(number.group()) + 1), text)

    assert not any(flagged(q.answer, q.question, q.product_name) for q in questions)
    caught = sum(flagged(bumped(q.answer), q.question, q.product_name) for q in questions)
    assert caught >= 0.9 * len(questions)
