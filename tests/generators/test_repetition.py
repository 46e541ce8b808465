"""The repetition detector: a decode that says a sentence, a list item or a phrase again."""

from __future__ import annotations

import pytest

from app.generators.repetition import repetition_start


@pytest.mark.parametrize(
    "answer",
    [
        "Change the oil every 4,000 hours or once a year, whichever comes first.",
        "Wear safety glasses. Wear safety boots. Wear cut-resistant gloves.",
        "1. Lower the ram.\n2. Lock out Q1.\n3. Wait 5 minutes.",
        "Yes. Yes. The press stops at 65 °C.",  # short units may come twice
        "E-21 means the pressure was not reached",  # a sentence still growing
    ],
)
def test_answers_that_do_not_repeat_themselves_are_left_alone(answer: str) -> None:
    assert repetition_start(answer) is None


def test_a_repeated_sentence_is_cut_where_it_starts_again() -> None:
    answer = (
        "The oil is changed every 4,000 hours. The filter is changed every 500 hours. "
        "The oil is changed every 4,000 hours. The"
    )
    cut = repetition_start(answer)

    assert cut is not None
    assert answer[:cut].rstrip() == (
        "The oil is changed every 4,000 hours. The filter is changed every 500 hours."
    )


def test_a_repeated_list_item_counts_whatever_its_number_or_case() -> None:
    answer = (
        "- Wear safety glasses to EN 166.\n- Lock out main isolator Q1.\n"
        "3. wear safety glasses to EN 166\n"
    )
    cut = repetition_start(answer)

    assert cut is not None
    assert answer[:cut].rstrip().endswith("Lock out main isolator Q1.")


def test_a_phrase_looping_without_a_sentence_end_is_cut_after_its_first_saying() -> None:
    answer = "Check the valve and the pump and the pump and the pump and the pump"
    cut = repetition_start(answer)

    assert cut is not None
    assert answer[:cut].rstrip() == "Check the valve and the pump"


def test_a_list_item_said_again_with_another_article_is_a_repeat() -> None:
    # `make eval`, 7 Dec 2026: rag ran to max_tokens (256) through items like these.
    answer = (
        "You can use the following steps:\n\n"
        "1. Open the drill press and select the drill bit.\n"
        "2. Repeat this process until you reach the desired tap depth.\n"
        "3. Remove the drill bit from the drill press.\n"
        "4. Repeat the process until you reach the desired tap depth.\n"
        "5. Repeat"
    )
    cut = repetition_start(answer)

    assert cut is not None
    assert answer[:cut].rstrip().endswith("3. Remove the drill bit from the drill press.")
