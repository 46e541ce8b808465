"""Reciprocal rank fusion on rankings whose fused order is known by hand."""

from __future__ import annotations

import pytest

from app.retrievers.fusion import reciprocal_rank_fusion


def test_scores_are_sums_of_reciprocal_ranks() -> None:
    fused = reciprocal_rank_fusion([[1, 2, 3], [3, 1, 4]], k=60)

    scores = {hit.document: hit.score for hit in fused}
    assert scores[1] == pytest.approx(1 / 61 + 1 / 62)
    assert scores[3] == pytest.approx(1 / 63 + 1 / 61)
    assert scores[2] == pytest.approx(1 / 62)
    assert scores[4] == pytest.approx(1 / 63)
    assert [hit.document for hit in fused] == [1, 3, 2, 4]


LEXICAL = [7, 1, 2, 5]
DENSE = [9, 3, 4, 5]


def test_large_k_rewards_agreement_of_both_rankings() -> None:
    fused = reciprocal_rank_fusion([LEXICAL, DENSE], k=60)

    assert fused[0].document == 5


def test_small_k_lets_a_first_place_win() -> None:
    fused = reciprocal_rank_fusion([LEXICAL, DENSE], k=1)

    assert [hit.document for hit in fused[:2]] == [7, 9]
    assert fused[0].score == pytest.approx(1 / 2)


def test_weights_can_silence_a_ranking() -> None:
    fused = reciprocal_rank_fusion([[1, 2, 3], [3, 2, 1]], k=60, weights=[1.0, 0.0])

    assert [hit.document for hit in fused] == [1, 2, 3]


def test_ties_keep_first_seen_order() -> None:
    fused = reciprocal_rank_fusion([[4], [8]], k=60)

    assert [hit.document for hit in fused] == [4, 8]
    assert fused[0].score == fused[1].score


def test_empty_rankings_give_nothing() -> None:
    assert reciprocal_rank_fusion([[], []], k=60) == []


@pytest.mark.parametrize(
    ("k", "weights"),
    [(0, None), (60, [1.0])],
)
def test_bad_arguments_are_refused(k: int, weights: list[float] | None) -> None:
    with pytest.raises(ValueError):
        reciprocal_rank_fusion([[1], [2]], k=k, weights=weights)
