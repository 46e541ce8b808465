"""Base vs tuned comparison: per-question scores, intervals and the paired test."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from infra.finetune.compare import (
    ComparedAnswer,
    figures_recalled,
    read_questions,
    score_comparison,
)


def overlap_scorer(candidates: Sequence[str], references: Sequence[str]) -> list[float]:
    """Share of reference words in the candidate: a stand-in for BERTScore."""
    scores = []
    for candidate, reference in zip(candidates, references, strict=True):
        words = reference.split()
        scores.append(sum(word in candidate.split() for word in words) / len(words))
    return scores


def answers(tuned_better: bool) -> list[ComparedAnswer]:
    compared = []
    for index in range(20):
        reference = f"code E-{index} means the pump is worn"
        good, poor = reference, f"maybe E-{index}"
        compared.append(
            ComparedAnswer(
                question=f"q{index}",
                reference=reference,
                base=poor if tuned_better else good,
                tuned=good if tuned_better else poor,
            )
        )
    return compared


def test_a_consistently_better_tuned_model_is_significant() -> None:
    scores = score_comparison(answers(tuned_better=True), overlap_scorer, 2000, 1)

    assert scores.tuned.mean == pytest.approx(1.0)
    assert scores.base.mean == pytest.approx(1 / 7)
    assert scores.difference.first == "tuned"
    assert scores.difference.mean_difference == pytest.approx(6 / 7)
    assert scores.difference.low > 0
    assert scores.difference.p_value < 0.01
    assert scores.difference.count == 20


def test_a_worse_tuned_model_has_a_negative_difference() -> None:
    scores = score_comparison(answers(tuned_better=False), overlap_scorer, 2000, 1)

    assert scores.difference.high < 0
    assert scores.tuned_f1 == [1 / 7] * 20


def test_identical_answers_show_no_difference() -> None:
    same = [ComparedAnswer("q", "a b", "a", "a") for _ in range(10)]
    scores = score_comparison(same, overlap_scorer, 2000, 1)

    assert scores.difference.mean_difference == 0
    assert scores.difference.p_value == 1.0


def test_questions_are_read_with_an_optional_limit(tmp_path: Path) -> None:
    path = tmp_path / "questions.json"
    records = [{"question": f"q{i}", "answer": f"a{i}", "section": "s"} for i in range(5)]
    path.write_text(json.dumps(records), encoding="utf-8")

    assert read_questions(path, 2) == [("q0", "a0"), ("q1", "a1")]
    assert len(read_questions(path, None)) == 5


def test_figures_recalled_counts_only_those_the_question_does_not_give() -> None:
    answer = ComparedAnswer(
        question="What does E-21 mean?",
        reference="E-21 means pressure not reached within 8 s; check pump AR-BP4 at 1,000 h.",
        base="E-21 is a fault.",
        tuned="E-21 means the pump AR-BP4 is worn after 1,000 h.",
    )

    assert figures_recalled(answer, answer.base) == (0, 3)
    assert figures_recalled(answer, answer.tuned) == (2, 3)


def test_comparison_totals_the_figures_recalled() -> None:
    scores = score_comparison(answers(tuned_better=True), overlap_scorer, 200, 1)

    # Each reference's only figure is its code, which "maybe E-n" has as well.
    assert (scores.figures, scores.base_figures, scores.tuned_figures) == (20, 20, 20)
