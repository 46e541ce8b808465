"""What pairwise judgements say: who is preferred, how consistently, and the position bias."""

from __future__ import annotations

import itertools
import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

from eval.judges.pairwise import PairwiseRecord


@dataclass(frozen=True, slots=True)
class PairFigures:
    """One judge on one pair of strategies, over both orders of every question."""

    judge: str
    first: str
    second: str
    first_wins: int
    second_wins: int
    ties: int
    unreadable: int
    questions: int  # questions with both orders read
    consistent: int  # of those, the same winner in both orders
    shown_first_chosen: int  # decisive judgements that chose the answer shown as A
    decisive: int

    @property
    def judgements(self) -> int:
        return self.first_wins + self.second_wins + self.ties

    @property
    def first_win_rate(self) -> float:
        """Share of read judgements preferring `first`, a tie counting half."""
        return (self.first_wins + self.ties / 2) / self.judgements if self.judgements else math.nan

    @property
    def consistency(self) -> float:
        return self.consistent / self.questions if self.questions else math.nan

    @property
    def position_bias(self) -> float:
        """Share of decisive judgements won by the answer shown first: 0.5 is no bias."""
        return self.shown_first_chosen / self.decisive if self.decisive else math.nan


def _pair(records: Sequence[PairwiseRecord], judge: str, first: str, second: str) -> PairFigures:
    mine = [r for r in records if r.judge == judge and {r.first, r.second} == {first, second}]
    read = [r for r in mine if r.choice is not None]
    by_question: dict[str, list[PairwiseRecord]] = {}
    for record in read:
        by_question.setdefault(record.question_id, []).append(record)
    both = [pair for pair in by_question.values() if len({r.first for r in pair}) == 2]
    decisive = [r for r in read if r.choice != "tie"]
    return PairFigures(
        judge=judge,
        first=first,
        second=second,
        first_wins=sum(r.winner == first for r in read),
        second_wins=sum(r.winner == second for r in read),
        ties=sum(r.choice == "tie" for r in read),
        unreadable=len(mine) - len(read),
        questions=len(both),
        consistent=sum(pair[0].winner == pair[1].winner for pair in both),
        shown_first_chosen=sum(r.choice == "A" for r in decisive),
        decisive=len(decisive),
    )


def pairwise_figures(
    records: Mapping[Hashable, PairwiseRecord], strategies: Sequence[str]
) -> list[PairFigures]:
    values = list(records.values())
    judges = sorted({record.judge for record in values})
    return [
        _pair(values, judge, first, second)
        for judge in judges
        for first, second in itertools.combinations(strategies, 2)
        if any({r.first, r.second} == {first, second} for r in values)
    ]
