"""Per-strategy figures and pairwise tests, computed from the records a run wrote."""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

from eval.records import BertScoreRecord, JudgementRecord, SampleRecord
from eval.settings import StatisticsSettings
from eval.stats import (
    Interval,
    PairedTest,
    bootstrap_interval,
    holm_adjust,
    paired_test,
    percentile,
)

METRICS: dict[str, str] = {
    "bert_f1": "BERTScore F1",
    "judge_score": "judge score (jury mean)",
    "latency_s": "latency (s, client)",
}
HIGHER_IS_BETTER = {"bert_f1": True, "judge_score": True, "latency_s": False}


@dataclass
class StrategyFigures:
    """What one strategy measured; `values` maps a metric to {question_id: value}."""

    strategy: str
    samples: int
    failed: int
    values: dict[str, dict[str, float]]
    intervals: dict[str, Interval]
    latency_p50_s: float
    latency_p95_s: float
    server_total_mean_s: float
    server_total_p95_s: float
    input_tokens_mean: float | None
    output_tokens_mean: float | None
    gold_hit_rate: float | None
    judge_means: dict[str, float]
    judge_spread: float | None
    failed_judgements: int


@dataclass
class Analysis:
    strategies: list[StrategyFigures]
    tests: list[PairedTest]
    judges: list[str]
    bert_backbone: str | None
    failed_samples: list[SampleRecord] = field(default_factory=list)


def _mean(values: Sequence[float]) -> float | None:
    return statistics.fmean(values) if values else None


def _jury_scores(
    samples: Sequence[SampleRecord], judgements: dict[Hashable, JudgementRecord], judges: list[str]
) -> tuple[dict[str, float], dict[str, list[float]], list[float], int]:
    """Per question: the jury mean; per judge: its scores; per question: max - min of judges."""
    jury: dict[str, float] = {}
    by_judge: dict[str, list[float]] = {judge: [] for judge in judges}
    spreads: list[float] = []
    failed = 0
    for sample in samples:
        scores = []
        for judge in judges:
            record = judgements.get((sample.key, judge))
            if record is None:
                continue
            if record.score is None:
                failed += 1
                continue
            scores.append(record.score)
            by_judge[judge].append(record.score)
        if scores:
            jury[sample.question_id] = statistics.fmean(scores)
            spreads.append(max(scores) - min(scores))
    return jury, by_judge, spreads, failed


def strategy_figures(
    strategy: str,
    samples: Sequence[SampleRecord],
    bertscores: dict[Hashable, BertScoreRecord],
    judgements: dict[Hashable, JudgementRecord],
    judges: list[str],
    settings: StatisticsSettings,
) -> StrategyFigures:
    answered = [sample for sample in samples if sample.ok]
    latency = {s.question_id: s.latency_ms / 1000.0 for s in answered if s.latency_ms is not None}
    bert = {s.question_id: bertscores[s.key].f1 for s in answered if s.key in bertscores}
    jury, by_judge, spreads, failed_judgements = _jury_scores(answered, judgements, judges)
    values = {"bert_f1": bert, "judge_score": jury, "latency_s": latency}
    intervals = {
        metric: bootstrap_interval(
            list(per_question.values()), settings.resamples, settings.seed, settings.confidence
        )
        for metric, per_question in values.items()
    }
    hits = [s.gold_product_retrieved for s in answered if s.gold_product_retrieved is not None]
    server = [s.server_total_ms / 1000.0 for s in answered if s.server_total_ms is not None]
    return StrategyFigures(
        strategy=strategy,
        samples=len(samples),
        failed=len(samples) - len(answered),
        values=values,
        intervals=intervals,
        latency_p50_s=percentile(list(latency.values()), 50),
        latency_p95_s=percentile(list(latency.values()), 95),
        server_total_mean_s=_mean(server) or float("nan"),
        server_total_p95_s=percentile(server, 95),
        input_tokens_mean=_mean([s.input_tokens for s in answered if s.input_tokens is not None]),
        output_tokens_mean=_mean(
            [s.output_tokens for s in answered if s.output_tokens is not None]
        ),
        gold_hit_rate=_mean([1.0 if hit else 0.0 for hit in hits]),
        judge_means={judge: m for judge, v in by_judge.items() if (m := _mean(v)) is not None},
        judge_spread=_mean(spreads),
        failed_judgements=failed_judgements,
    )


def pairwise_tests(
    figures: Sequence[StrategyFigures], settings: StatisticsSettings
) -> list[PairedTest]:
    """Every pair of strategies on every metric, over the questions both answered."""
    tests: list[PairedTest] = []
    for metric in METRICS:
        family = []
        for first, second in itertools.combinations(figures, 2):
            a, b = first.values[metric], second.values[metric]
            pairs = [(a[question], b[question]) for question in a if question in b]
            if pairs:
                family.append(
                    paired_test(
                        first.strategy,
                        second.strategy,
                        metric,
                        pairs,
                        settings.resamples,
                        settings.seed,
                        settings.confidence,
                    )
                )
        tests.extend(holm_adjust(family))
    return tests


def analyse(
    samples: Sequence[SampleRecord],
    bertscores: dict[Hashable, BertScoreRecord],
    judgements: dict[Hashable, JudgementRecord],
    strategies: Sequence[str],
    settings: StatisticsSettings,
) -> Analysis:
    judges = sorted({record.judge for record in judgements.values()})
    figures = [
        strategy_figures(
            strategy,
            [s for s in samples if s.strategy == strategy],
            bertscores,
            judgements,
            judges,
            settings,
        )
        for strategy in strategies
    ]
    backbones = sorted({record.backbone for record in bertscores.values()})
    return Analysis(
        strategies=figures,
        tests=pairwise_tests(figures, settings),
        judges=judges,
        bert_backbone=", ".join(backbones) or None,
        failed_samples=[s for s in samples if not s.ok],
    )
