"""How far each judge agrees with people: `--labels FILE` of people's scores on answers.

The file is CSV with a header, or JSON (a list of objects), with the fields `question_id`
(the id in the run's records, or the question's position in the test set, from 0),
`strategy` and `score` (a person's score in [0, 1], the judges' scale). Per judge, and for the
jury mean: Spearman's rank correlation, the mean absolute difference, and how many labelled
answers it scored.
"""

from __future__ import annotations

import csv
import json
import math
import statistics
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eval.records import JudgementRecord, SampleRecord

JURY = "jury (mean of judges)"


class LabelsError(ValueError):
    """The labels file is missing or not in the expected shape."""


@dataclass(frozen=True, slots=True)
class Label:
    question: str  # a question id, or the question's index as text
    strategy: str
    score: float


@dataclass(frozen=True, slots=True)
class Agreement:
    judge: str
    count: int
    spearman: float
    mean_absolute_difference: float


def _rows(path: Path) -> list[dict[str, object]]:
    if not path.is_file():
        raise LabelsError(f"labels file {path} does not exist")
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".json":
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as error:
            raise LabelsError(f"{path} is not JSON: {error}") from error
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise LabelsError(f"{path} must hold a list of objects")
        return rows
    return [dict(row) for row in csv.DictReader(text.splitlines())]


def load_labels(path: Path) -> list[Label]:
    labels = []
    for number, row in enumerate(_rows(path), start=1):
        try:
            score = float(str(row["score"]))
            label = Label(str(row["question_id"]).strip(), str(row["strategy"]).strip(), score)
        except (KeyError, ValueError) as error:
            raise LabelsError(
                f"{path} row {number}: needs question_id, strategy and a numeric score"
            ) from error
        if not 0.0 <= score <= 1.0:
            raise LabelsError(f"{path} row {number}: score {score} is outside [0, 1]")
        labels.append(label)
    return labels


def _ranks(values: Sequence[float]) -> np.ndarray:
    """Ranks from 1, ties sharing their mean rank."""
    data = np.asarray(values, dtype=float)
    order = data.argsort(kind="mergesort")
    ranks = np.empty(data.size)
    ranks[order] = np.arange(1, data.size + 1)
    for value in np.unique(data):
        tied = data == value
        ranks[tied] = ranks[tied].mean()
    return ranks


def spearman(first: Sequence[float], second: Sequence[float]) -> float:
    """Spearman's rank correlation; NaN with fewer than 3 pairs or a constant side."""
    if len(first) < 3:
        return math.nan
    a, b = _ranks(first), _ranks(second)
    if a.std() == 0 or b.std() == 0:
        return math.nan
    return float(np.corrcoef(a, b)[0, 1])


def agreement(
    labels: Sequence[Label],
    samples: Sequence[SampleRecord],
    judgements: Mapping[Hashable, JudgementRecord],
    judges: Sequence[str],
) -> list[Agreement]:
    """Per judge and for the jury: its score (mean over the askings of the labelled answer)
    against the people's (mean of the labels of that answer)."""
    people: dict[tuple[str, str], list[float]] = {}
    for label in labels:
        people.setdefault((label.question, label.strategy), []).append(label.score)
    scored: dict[str, dict[tuple[str, str], list[float]]] = {j: {} for j in [*judges, JURY]}
    for sample in samples:
        keys = [(sample.question_id, sample.strategy), (str(sample.index), sample.strategy)]
        key = next((k for k in keys if k in people), None)
        if key is None or not sample.ok:
            continue
        scores = []
        for judge in judges:
            record = judgements.get((sample.key, judge))
            if record is not None and record.score is not None:
                scored[judge].setdefault(key, []).append(record.score)
                scores.append(record.score)
        if scores:
            scored[JURY].setdefault(key, []).append(statistics.fmean(scores))
    found = []
    for judge, by_answer in scored.items():
        pairs = [(statistics.fmean(v), statistics.fmean(people[k])) for k, v in by_answer.items()]
        judge_scores, person_scores = [p[0] for p in pairs], [p[1] for p in pairs]
        found.append(
            Agreement(
                judge=judge,
                count=len(pairs),
                spearman=spearman(judge_scores, person_scores),
                mean_absolute_difference=(
                    statistics.fmean(abs(a - b) for a, b in pairs) if pairs else math.nan
                ),
            )
        )
    return found
