"""Reciprocal rank fusion: merges several rankings of the same documents into one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FusedHit:
    """One document of the fused ranking and its fused score."""

    document: int
    score: float


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[int]],
    k: int,
    weights: Sequence[float] | None = None,
) -> list[FusedHit]:
    """Score each document by the sum of weight / (k + rank) over the rankings that hold it.

    Ranks start at 1. Ties keep the order in which documents were first seen, so the result is
    deterministic for a given input.
    """
    if k < 1:
        raise ValueError(f"rrf k must be at least 1, got {k}")
    if weights is None:
        weights = [1.0] * len(rankings)
    if len(weights) != len(rankings):
        raise ValueError(f"{len(weights)} weights given for {len(rankings)} rankings")
    scores: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, document in enumerate(ranking, start=1):
            scores[document] = scores.get(document, 0.0) + weight / (k + rank)
    first_seen = {document: position for position, document in enumerate(scores)}
    ordered = sorted(scores.items(), key=lambda item: (-item[1], first_seen[item[0]]))
    return [FusedHit(document=document, score=score) for document, score in ordered]
