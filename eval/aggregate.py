"""Per-strategy figures and pairwise tests, computed from the records a run wrote."""

from __future__ import annotations

import itertools
import math
import statistics
from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field

from eval.agreement import Agreement
from eval.diagnosis import AnswerDiagnosis, Funnel, diagnose
from eval.metrics.facts import Fact
from eval.pairwise_stats import PairFigures
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
    "fact_recall": "fact recall (must_mention)",
    "context_fact_recall": "context fact recall (must_mention facts in the returned sources)",
    "unsupported_figure_rate": "unsupported figure rate (answers stating a figure that the "
    "question, reference and sources do not)",
    "judge_score": "judge score (jury mean)",
    "latency_s": "latency to outcome (s, every request)",
    "latency_ok_s": "latency of answers (s, successful attempt only)",
}
HIGHER_IS_BETTER = {
    "bert_f1": True,
    "fact_recall": True,
    "context_fact_recall": True,
    "unsupported_figure_rate": False,
    "judge_score": True,
    "latency_s": False,
    "latency_ok_s": False,
}
# The success-only latency is shown beside, never tested: it hides failures and retries.
TESTED_METRICS = (
    "bert_f1",
    "fact_recall",
    "context_fact_recall",
    "unsupported_figure_rate",
    "judge_score",
    "latency_s",
)
UNTUNED_MARK = "untuned"  # how the service's model id says a tuned role runs the base model


@dataclass
class StrategyFigures:
    """What one strategy measured; `values` maps a metric to {question_id: value}, the mean
    of the question's answers when it was asked more than once (`run --repeat`); `spreads`
    maps a metric to the mean within-question standard deviation of those answers."""

    strategy: str
    samples: int
    failed: int
    values: dict[str, dict[str, float]]
    intervals: dict[str, Interval]
    latency_p50_s: float
    latency_p95_s: float
    ok_latency_p50_s: float
    ok_latency_p95_s: float
    retried: int
    server_retrieve_mean_s: float
    server_generate_mean_s: float
    server_total_mean_s: float
    server_total_p95_s: float
    input_tokens_mean: float | None
    output_tokens_mean: float | None
    gold_hit_rate: float | None
    judge_means: dict[str, float]
    judge_counts: dict[str, int]
    judge_spread: float | None
    failed_judgements: int
    models: list[str] = field(default_factory=list)
    retrieves: bool = False
    spreads: dict[str, float] = field(default_factory=dict)
    repeats: int = 1
    diagnoses: list[AnswerDiagnosis] = field(default_factory=list)
    funnel: Funnel | None = None
    answers_judged: int = 0
    endings: dict[str, int] = field(default_factory=dict)
    """Answers by `finish_reason` (those whose service said it)."""

    @property
    def answered(self) -> int:
        return self.samples - self.failed

    @property
    def failure_rate(self) -> float:
        return self.failed / self.samples if self.samples else math.nan

    @property
    def retry_rate(self) -> float:
        """Share of requests that needed more than one attempt (answered or not)."""
        return self.retried / self.samples if self.samples else math.nan

    @property
    def judged(self) -> int:
        """Answers with at least one judge's score (every asking counted)."""
        return self.answers_judged

    @property
    def jury_coverage(self) -> float:
        """Answers with at least one judge's score, over answers; NaN without a jury."""
        if not self.judge_counts or not self.answered:
            return math.nan
        return self.judged / self.answered

    def ending_rate(self, reason: str) -> float:
        """Share of the answers saying why they ended that ended for `reason`; NaN if none say."""
        said = sum(self.endings.values())
        return self.endings.get(reason, 0) / said if said else math.nan

    def judge_coverage(self, judge: str) -> float:
        """Answers this judge scored, over answers."""
        return self.judge_counts.get(judge, 0) / self.answered if self.answered else math.nan

    @property
    def untuned(self) -> bool:
        return any(UNTUNED_MARK in model for model in self.models)


@dataclass
class Analysis:
    strategies: list[StrategyFigures]
    tests: list[PairedTest]
    judges: list[str]
    bert_backbone: str | None
    failed_samples: list[SampleRecord] = field(default_factory=list)
    gold_unknown: bool = False
    min_judged: int = 1
    pairwise: list[PairFigures] = field(default_factory=list)
    agreement: list[Agreement] = field(default_factory=list)
    significance: float = 0.05


def _mean(values: Sequence[float]) -> float | None:
    return statistics.fmean(values) if values else None


def _mean_s(values_ms: Sequence[float | None]) -> float:
    present = [value / 1000.0 for value in values_ms if value is not None]
    return statistics.fmean(present) if present else math.nan


def _jury_scores(
    samples: Sequence[SampleRecord],
    judgements: Mapping[Hashable, JudgementRecord],
    judges: list[str],
) -> tuple[dict[str, float], dict[str, list[float]], list[float], int]:
    """Per sample key: the jury mean; per judge: its scores; per sample: max - min of judges."""
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
            jury[sample.key] = statistics.fmean(scores)
            spreads.append(max(scores) - min(scores))
    return jury, by_judge, spreads, failed


def _by_question(
    samples: Sequence[SampleRecord], value_of: Mapping[str, float]
) -> dict[str, list[float]]:
    """Each question's values over its answers (one per asking), from values by sample key."""
    grouped: dict[str, list[float]] = {}
    for sample in samples:
        if sample.key in value_of:
            grouped.setdefault(sample.question_id, []).append(value_of[sample.key])
    return grouped


def _within_spread(grouped: Mapping[str, list[float]]) -> float:
    """Mean standard deviation between the answers to one question; NaN when asked once."""
    spreads = [statistics.stdev(values) for values in grouped.values() if len(values) > 1]
    return statistics.fmean(spreads) if spreads else math.nan


def _diagnoses(
    answered: Sequence[SampleRecord], facts: Mapping[str, Sequence[Fact]] | None, retrieves: bool
) -> list[AnswerDiagnosis]:
    """Each answer's facts and figures; facts from the test set when given, else recorded."""
    return [
        diagnose(
            sample,
            facts.get(sample.question_id, ())
            if facts is not None
            else [tuple(fact) for fact in sample.must_mention],
            retrieves,
        )
        for sample in answered
    ]


def _intervals(
    values: dict[str, dict[str, float]], settings: StatisticsSettings
) -> dict[str, Interval]:
    intervals = {
        metric: bootstrap_interval(
            list(per_question.values()), settings.resamples, settings.seed, settings.confidence
        )
        for metric, per_question in values.items()
    }
    judged = len(values["judge_score"])
    if judged < settings.min_judged:
        # Too few judged answers to say anything: no mean, no interval, only the count.
        intervals["judge_score"] = Interval(math.nan, math.nan, math.nan, judged)
    return intervals


def strategy_figures(
    strategy: str,
    samples: Sequence[SampleRecord],
    bertscores: Mapping[Hashable, BertScoreRecord],
    judgements: Mapping[Hashable, JudgementRecord],
    judges: list[str],
    settings: StatisticsSettings,
    facts: Mapping[str, Sequence[Fact]] | None = None,
    gold_known: bool = True,
) -> StrategyFigures:
    answered = [sample for sample in samples if sample.ok]
    retrieves = any(s.sources for s in answered)
    diagnoses = _diagnoses(answered, facts, retrieves)
    jury, by_judge, spreads, failed_judgements = _jury_scores(answered, judgements, judges)
    per_answer: dict[str, dict[str, float]] = {
        "bert_f1": {s.key: bertscores[s.key].f1 for s in answered if s.key in bertscores},
        "fact_recall": {
            d.sample.key: recall for d in diagnoses if (recall := d.fact_recall) is not None
        },
        "context_fact_recall": {
            d.sample.key: recall for d in diagnoses if (recall := d.context_fact_recall) is not None
        },
        "unsupported_figure_rate": {d.sample.key: d.invents for d in diagnoses},
        "judge_score": jury,
        "latency_s": {s.key: s.outcome_ms / 1000.0 for s in samples},
        "latency_ok_s": {
            s.key: s.latency_ms / 1000.0 for s in answered if s.latency_ms is not None
        },
    }
    grouped = {metric: _by_question(samples, v) for metric, v in per_answer.items()}
    values = {
        metric: {question: statistics.fmean(v) for question, v in by_question.items()}
        for metric, by_question in grouped.items()
    }
    outcome = list(per_answer["latency_s"].values())
    ok_latency = list(per_answer["latency_ok_s"].values())
    hits = [s.gold_product_retrieved for s in answered if s.gold_product_retrieved is not None]
    server = [s.server_total_ms / 1000.0 for s in answered if s.server_total_ms is not None]
    askings: dict[str, int] = {}
    for sample in samples:
        askings[sample.question_id] = askings.get(sample.question_id, 0) + 1
    return StrategyFigures(
        strategy=strategy,
        samples=len(samples),
        failed=len(samples) - len(answered),
        values=values,
        intervals=_intervals(values, settings),
        latency_p50_s=percentile(outcome, 50),
        latency_p95_s=percentile(outcome, 95),
        ok_latency_p50_s=percentile(ok_latency, 50),
        ok_latency_p95_s=percentile(ok_latency, 95),
        retried=sum(1 for s in samples if s.attempts > 1),
        server_retrieve_mean_s=_mean_s([s.server_retrieve_ms for s in answered]),
        server_generate_mean_s=_mean_s([s.server_generate_ms for s in answered]),
        server_total_mean_s=statistics.fmean(server) if server else math.nan,
        server_total_p95_s=percentile(server, 95),
        input_tokens_mean=_mean([s.input_tokens for s in answered if s.input_tokens is not None]),
        output_tokens_mean=_mean(
            [s.output_tokens for s in answered if s.output_tokens is not None]
        ),
        gold_hit_rate=_mean([1.0 if hit else 0.0 for hit in hits]) if gold_known else None,
        judge_means={judge: m for judge, v in by_judge.items() if (m := _mean(v)) is not None},
        judge_counts={judge: len(v) for judge, v in by_judge.items()},
        judge_spread=_mean(spreads),
        failed_judgements=failed_judgements,
        models=sorted({s.model for s in answered if s.model}),
        retrieves=retrieves,
        spreads={metric: _within_spread(by_question) for metric, by_question in grouped.items()},
        repeats=max(askings.values(), default=1),
        diagnoses=diagnoses,
        funnel=Funnel.of(diagnoses, retrieves),
        answers_judged=len(jury),
        endings=dict(Counter(s.finish_reason for s in answered if s.finish_reason)),
    )


def pairwise_tests(
    figures: Sequence[StrategyFigures], settings: StatisticsSettings
) -> list[PairedTest]:
    """Every pair of strategies on every tested metric, over the questions both measured.

    Latency pairs every request, a failure counted as its time to failure. Judge scores are
    only tested with at least `min_judged` questions judged for both.
    """
    tests: list[PairedTest] = []
    for metric in TESTED_METRICS:
        family = []
        for first, second in itertools.combinations(figures, 2):
            a, b = first.values[metric], second.values[metric]
            pairs = [(a[question], b[question]) for question in a if question in b]
            enough = len(pairs) >= (settings.min_judged if metric == "judge_score" else 1)
            if pairs and enough:
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


def products_recognised(samples: Sequence[SampleRecord]) -> bool:
    """Whether any retrieved passage names any of the test set's products: if none does, the
    service did not recognise the catalog's products and a gold hit rate would be a false 0."""
    products = {s.product_name.casefold() for s in samples if s.product_name}
    return any(
        product in source.title.casefold() or product in source.location.casefold()
        for sample in samples
        for source in sample.sources
        for product in products
    )


def scores_of_backbone(
    bertscores: Mapping[Hashable, BertScoreRecord], backbone: str | None
) -> dict[Hashable, BertScoreRecord]:
    """BERTScores by sample key, of one backbone only: scores of two backbones never mix."""
    return {
        record.key: record
        for record in bertscores.values()
        if backbone is None or record.backbone == backbone
    }


def analyse(
    samples: Sequence[SampleRecord],
    bertscores: Mapping[Hashable, BertScoreRecord],
    judgements: Mapping[Hashable, JudgementRecord],
    strategies: Sequence[str],
    settings: StatisticsSettings,
    facts: Mapping[str, Sequence[Fact]] | None = None,
) -> Analysis:
    """`bertscores` by sample key (one backbone, see `scores_of_backbone`); `facts` overrides
    the ones the samples recorded (the test set may have gained facts since)."""
    judges = sorted({record.judge for record in judgements.values()})
    scores = bertscores
    with_sources = [s for s in samples if s.ok and s.sources]
    gold_known = products_recognised(with_sources) if with_sources else True
    figures = [
        strategy_figures(
            strategy,
            [s for s in samples if s.strategy == strategy],
            scores,
            judgements,
            judges,
            settings,
            facts,
            gold_known,
        )
        for strategy in strategies
    ]
    backbones = sorted({record.backbone for record in scores.values()})
    return Analysis(
        strategies=figures,
        tests=pairwise_tests(figures, settings),
        judges=judges,
        bert_backbone=", ".join(backbones) or None,
        failed_samples=[s for s in samples if not s.ok],
        gold_unknown=not gold_known,
        min_judged=settings.min_judged,
        significance=settings.significance,
    )
