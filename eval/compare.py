"""`eval compare RUN_A RUN_B`: what changed from one run to the next, and is it real.

Per strategy and metric: A, B (means over the questions both runs answered), B - A with its
bootstrap interval, and a paired sign-flip test over those questions, Holm-adjusted within a
metric. Runs of different test sets are refused. A regression is a quality metric that got
significantly worse; latency is shown and tested but never counted as one, because two runs
rarely share a machine and its load.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eval.aggregate import HIGHER_IS_BETTER, TESTED_METRICS, Analysis, analyse, scores_of_backbone
from eval.finalize import run_strategies, testset_facts
from eval.manifest import identity_changes, read_manifest
from eval.paths import RunFiles
from eval.records import SampleRecord
from eval.settings import StatisticsSettings
from eval.stats import PairedTest, holm_adjust, paired_test

UNGATED_METRICS = frozenset({"latency_s"})


class CompareRefused(ValueError):
    """The two runs cannot be compared (another test set, or no run at all)."""


@dataclass(frozen=True, slots=True)
class LoadedRun:
    path: Path
    manifest: dict[str, Any]
    samples: list[SampleRecord]
    analysis: Analysis


@dataclass(frozen=True, slots=True)
class MetricChange:
    strategy: str
    metric: str
    a: float
    b: float
    test: PairedTest  # first = "B", second = "A": the difference is B - A
    significance: float

    @property
    def significant(self) -> bool:
        p_value = self.test.adjusted_p_value
        return not math.isnan(p_value) and p_value < self.significance

    @property
    def direction(self) -> str:
        if not self.significant:
            return "no significant change"
        better = (self.test.mean_difference > 0) == HIGHER_IS_BETTER[self.metric]
        return "better" if better else "worse"

    @property
    def regression(self) -> bool:
        return self.direction == "worse" and self.metric not in UNGATED_METRICS


@dataclass(frozen=True, slots=True)
class QuestionChange:
    strategy: str
    metric: str
    question_id: str
    question: str
    a: float
    b: float
    answer_a: str
    answer_b: str


@dataclass
class Comparison:
    a: LoadedRun
    b: LoadedRun
    changes: list[MetricChange]
    manifest_differences: list[str]
    common_questions: int
    only_a: int
    only_b: int
    biggest: list[QuestionChange] = field(default_factory=list)

    @property
    def regressions(self) -> list[MetricChange]:
        return [change for change in self.changes if change.regression]


def load_run(path: Path, statistics: StatisticsSettings) -> LoadedRun:
    files = RunFiles(path)
    manifest = read_manifest(files.manifest)
    if manifest is None or not files.samples().exists():
        raise CompareRefused(f"{path} holds no run (no manifest.json or samples.jsonl)")
    samples = list(files.samples().load().values())
    backbone = manifest.get("identity", {}).get("bertscore")
    scores = scores_of_backbone(
        files.bertscores().load(), backbone if backbone not in (None, "disabled") else None
    )
    strategies = run_strategies(samples, manifest.get("strategies") or [])
    testset = manifest.get("testset")
    facts = testset_facts(Path(testset)) if testset and Path(testset).is_file() else None
    analysis = analyse(samples, scores, files.judgements().load(), strategies, statistics, facts)
    return LoadedRun(path, manifest, samples, analysis)


def _same_test_set(a: LoadedRun, b: LoadedRun) -> None:
    sha_a, sha_b = a.manifest.get("testset_sha256"), b.manifest.get("testset_sha256")
    if sha_a != sha_b:
        raise CompareRefused(
            "the runs used different test sets: "
            f"A {a.manifest.get('testset')} (sha256 {str(sha_a)[:12]}, "
            f"{a.manifest.get('questions')} questions), "
            f"B {b.manifest.get('testset')} (sha256 {str(sha_b)[:12]}, "
            f"{b.manifest.get('questions')} questions)"
        )


def manifest_differences(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """What the two runs were measured with: service, models, scorer, judges, prices,
    packages, strategies, repeats (not when or where the files are)."""
    kept = ("identity", "service", "versions", "service_url", "strategies", "repeat", "questions")
    return identity_changes({k: a.get(k) for k in kept}, {k: b.get(k) for k in kept})


def _biggest_changes(
    a: LoadedRun, b: LoadedRun, strategy: str, metric: str, questions: Sequence[str]
) -> list[QuestionChange]:
    first = next(f for f in a.analysis.strategies if f.strategy == strategy)
    second = next(f for f in b.analysis.strategies if f.strategy == strategy)
    answers_a = {s.question_id: s for s in a.samples if s.strategy == strategy and s.repeat == 0}
    answers_b = {s.question_id: s for s in b.samples if s.strategy == strategy and s.repeat == 0}
    return [
        QuestionChange(
            strategy,
            metric,
            question,
            answers_a[question].question if question in answers_a else "",
            first.values[metric][question],
            second.values[metric][question],
            answers_a[question].answer if question in answers_a else "",
            answers_b[question].answer if question in answers_b else "",
        )
        for question in questions
        if first.values[metric][question] != second.values[metric][question]
    ]


def compare_runs(path_a: Path, path_b: Path, statistics: StatisticsSettings) -> Comparison:
    a, b = load_run(path_a, statistics), load_run(path_b, statistics)
    _same_test_set(a, b)
    ids_a = {s.question_id for s in a.samples}
    ids_b = {s.question_id for s in b.samples}
    figures_b = {f.strategy: f for f in b.analysis.strategies}
    families: dict[str, list[tuple[str, float, float, PairedTest]]] = {}
    biggest: list[QuestionChange] = []
    for first in a.analysis.strategies:
        second = figures_b.get(first.strategy)
        if second is None:
            continue
        for metric in TESTED_METRICS:
            values_a, values_b = first.values[metric], second.values[metric]
            common = sorted(set(values_a) & set(values_b))
            if not common:
                continue
            pairs = [(values_b[q], values_a[q]) for q in common]
            test = paired_test(
                "B",
                "A",
                metric,
                pairs,
                statistics.resamples,
                statistics.seed,
                statistics.confidence,
            )
            mean_a = math.fsum(values_a[q] for q in common) / len(common)
            mean_b = math.fsum(values_b[q] for q in common) / len(common)
            families.setdefault(metric, []).append((first.strategy, mean_a, mean_b, test))
            if metric != "latency_s":
                biggest += _biggest_changes(a, b, first.strategy, metric, common)
    changes = []
    for metric, family in families.items():
        adjusted = holm_adjust([test for *_, test in family])
        changes += [
            MetricChange(strategy, metric, mean_a, mean_b, test, statistics.significance)
            for (strategy, mean_a, mean_b, _), test in zip(family, adjusted, strict=True)
        ]
    biggest.sort(key=lambda change: -abs(change.b - change.a))
    return Comparison(
        a=a,
        b=b,
        changes=changes,
        manifest_differences=manifest_differences(a.manifest, b.manifest),
        common_questions=len(ids_a & ids_b),
        only_a=len(ids_a - ids_b),
        only_b=len(ids_b - ids_a),
        biggest=list(itertools.islice(biggest, 20)),
    )
