"""Files a run leaves behind: per-strategy JSON in the reference's shape, the summary CSV."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import Any

from eval.aggregate import Analysis, StrategyFigures
from eval.atomic import write_text_atomic
from eval.cost import StrategyCost
from eval.diagnosis import AnswerDiagnosis
from eval.pairwise_stats import PairFigures
from eval.records import BertScoreRecord, JudgementRecord, SampleRecord
from eval.stats import PairedTest

SUMMARY_COLUMNS = (
    "method",
    "avg_bert_score",
    "avg_llm_evaluator_score",
    "avg_inference_time",
    "p50_inference_time",
    "p95_inference_time",
    "monthly_cost_usd",
    "cost_per_1k_requests_measured_tokens",
    "bert_score_ci_low",
    "bert_score_ci_high",
    "llm_evaluator_score_ci_low",
    "llm_evaluator_score_ci_high",
    "inference_time_ci_low",
    "inference_time_ci_high",
    "avg_server_time",
    "p95_server_time",
    "samples",
    "failed",
    "avg_input_tokens",
    "avg_output_tokens",
    "gold_product_hit_rate",
    "judge_spread",
    "fact_recall",
    "fact_recall_ci_low",
    "fact_recall_ci_high",
    "fact_questions",
    "failure_rate",
    "retry_rate",
    "avg_answered_time",
    "p50_answered_time",
    "p95_answered_time",
    "avg_server_retrieve_time",
    "avg_server_generate_time",
    "judged",
    "judge_coverage",
    "untuned_model",
    "models",
    "context_fact_recall",
    "context_fact_recall_ci_low",
    "context_fact_recall_ci_high",
    "unsupported_figure_rate",
    "unsupported_figure_rate_ci_low",
    "unsupported_figure_rate_ci_high",
    "repeats",
    "max_tokens_rate",
    "repetition_rate",
)
# The summary column of each tested metric (what `eval gate` and `eval compare` name).
METRIC_COLUMNS = {
    "avg_bert_score": "bert_f1",
    "fact_recall": "fact_recall",
    "context_fact_recall": "context_fact_recall",
    "unsupported_figure_rate": "unsupported_figure_rate",
    "avg_llm_evaluator_score": "judge_score",
    "avg_inference_time": "latency_s",
}


def _number(value: float | None, digits: int = 4) -> float | str:
    """A CSV cell: rounded, or empty when there is nothing to report (never a made-up 0)."""
    if value is None or math.isnan(value):
        return ""
    return round(value, digits)


def sample_entry(
    sample: SampleRecord,
    bertscore: BertScoreRecord | None,
    judgements: Sequence[JudgementRecord],
    diagnosis: AnswerDiagnosis | None = None,
) -> dict[str, Any]:
    """The reference's per-sample fields first, then what this runner adds."""
    scores = [j.score for j in judgements if j.score is not None]
    entry: dict[str, Any] = {
        "input_text": sample.question,
        "ground_truth": sample.ground_truth,
        "llm_response": sample.answer,
        "context": " ".join(
            f"Document {number}: {source.text}" for number, source in enumerate(sample.sources, 1)
        ),
        "bert_score": bertscore.f1 if bertscore else None,
        "llm_evaluator_score": sum(scores) / len(scores) if scores else None,
    }
    entry.update({j.judge: j.score for j in judgements})
    entry.update(
        {
            "inference_time": sample.latency_ms / 1000.0 if sample.latency_ms else None,
            "time_to_outcome": sample.outcome_ms / 1000.0,
            "question_id": sample.question_id,
            "product_name": sample.product_name,
            "ok": sample.ok,
            "error": sample.error,
            "model": sample.model,
            "sources": [source.model_dump(exclude={"text"}) for source in sample.sources],
            "gold_product_retrieved": sample.gold_product_retrieved,
            "input_tokens": sample.input_tokens,
            "output_tokens": sample.output_tokens,
            "server_timings_ms": {
                "retrieve": sample.server_retrieve_ms,
                "generate": sample.server_generate_ms,
                "total": sample.server_total_ms,
            },
            "attempts": sample.attempts,
            "request_id": sample.request_id,
            "judge_reasons": {j.judge: j.reason or j.error for j in judgements},
            "repeat": sample.repeat,
        }
    )
    if diagnosis is not None:
        entry.update(
            {
                "fact_recall": diagnosis.fact_recall,
                "context_fact_recall": diagnosis.context_fact_recall,
                "missed_facts": [
                    {"fact": list(missed.fact), "where": missed.where}
                    for missed in diagnosis.missed
                ],
                "unsupported_figures": list(diagnosis.invented),
            }
        )
    return entry


def write_strategy_results(
    out: Path,
    strategy: str,
    samples: Sequence[SampleRecord],
    bertscores: dict[Hashable, BertScoreRecord],
    judgements: dict[Hashable, JudgementRecord],
    diagnoses: dict[str, AnswerDiagnosis] | None = None,
) -> Path:
    by_sample: dict[str, list[JudgementRecord]] = {}
    for record in judgements.values():
        by_sample.setdefault(record.key, []).append(record)
    entries = [
        sample_entry(
            sample,
            bertscores.get(sample.key),
            by_sample.get(sample.key, []),
            (diagnoses or {}).get(sample.key),
        )
        for sample in sorted(samples, key=lambda s: (s.index, s.repeat))
        if sample.strategy == strategy
    ]
    path = out / f"{strategy}_results.json"
    return write_text_atomic(path, json.dumps(entries, indent=2, ensure_ascii=False) + "\n")


def summary_row(
    figures: StrategyFigures, cost: StrategyCost | None, per_thousand: float | None
) -> dict[str, Any]:
    """`*_inference_time` is time to outcome over every request (failures and retries
    included); `*_answered_time` is the successful attempt of answered requests only."""
    bert, judge, latency, facts, answered = (
        figures.intervals["bert_f1"],
        figures.intervals["judge_score"],
        figures.intervals["latency_s"],
        figures.intervals["fact_recall"],
        figures.intervals["latency_ok_s"],
    )
    context, invented = (
        figures.intervals["context_fact_recall"],
        figures.intervals["unsupported_figure_rate"],
    )
    return {
        "method": figures.strategy,
        "avg_bert_score": _number(bert.mean),
        "avg_llm_evaluator_score": _number(judge.mean),
        "avg_inference_time": _number(latency.mean),
        "p50_inference_time": _number(figures.latency_p50_s),
        "p95_inference_time": _number(figures.latency_p95_s),
        "monthly_cost_usd": _number(cost.monthly if cost else None, 2),
        "cost_per_1k_requests_measured_tokens": _number(per_thousand, 4),
        "bert_score_ci_low": _number(bert.low),
        "bert_score_ci_high": _number(bert.high),
        "llm_evaluator_score_ci_low": _number(judge.low),
        "llm_evaluator_score_ci_high": _number(judge.high),
        "inference_time_ci_low": _number(latency.low),
        "inference_time_ci_high": _number(latency.high),
        "avg_server_time": _number(figures.server_total_mean_s),
        "p95_server_time": _number(figures.server_total_p95_s),
        "samples": figures.samples,
        "failed": figures.failed,
        "avg_input_tokens": _number(figures.input_tokens_mean, 1),
        "avg_output_tokens": _number(figures.output_tokens_mean, 1),
        "gold_product_hit_rate": _number(figures.gold_hit_rate),
        "judge_spread": _number(figures.judge_spread),
        "fact_recall": _number(facts.mean),
        "fact_recall_ci_low": _number(facts.low),
        "fact_recall_ci_high": _number(facts.high),
        "fact_questions": facts.count,
        "failure_rate": _number(figures.failure_rate),
        "retry_rate": _number(figures.retry_rate),
        "avg_answered_time": _number(answered.mean),
        "p50_answered_time": _number(figures.ok_latency_p50_s),
        "p95_answered_time": _number(figures.ok_latency_p95_s),
        "avg_server_retrieve_time": _number(figures.server_retrieve_mean_s),
        "avg_server_generate_time": _number(figures.server_generate_mean_s),
        "judged": figures.judged if figures.judge_counts else "",
        "judge_coverage": _number(figures.jury_coverage),
        "untuned_model": figures.untuned,
        "models": " ".join(figures.models),
        "context_fact_recall": _number(context.mean),
        "context_fact_recall_ci_low": _number(context.low),
        "context_fact_recall_ci_high": _number(context.high),
        "unsupported_figure_rate": _number(invented.mean),
        "unsupported_figure_rate_ci_low": _number(invented.low),
        "unsupported_figure_rate_ci_high": _number(invented.high),
        "repeats": figures.repeats,
        "max_tokens_rate": _number(figures.ending_rate("length")),
        "repetition_rate": _number(figures.ending_rate("repetition")),
    }


def write_summary_csv(
    out: Path,
    analysis: Analysis,
    costs: dict[str, StrategyCost],
    per_thousand: dict[str, float],
) -> Path:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=SUMMARY_COLUMNS)
    writer.writeheader()
    for figures in analysis.strategies:
        writer.writerow(
            summary_row(figures, costs.get(figures.strategy), per_thousand.get(figures.strategy))
        )
    return write_text_atomic(out / "summary_results.csv", buffer.getvalue())


def judge_coverage_rows(analysis: Analysis) -> list[dict[str, Any]]:
    """One row per strategy and judge: answers judged by it over answers."""
    return [
        {
            "method": figures.strategy,
            "judge": judge,
            "answered": figures.answered,
            "judged": figures.judge_counts.get(judge, 0),
            "coverage": _number(figures.judge_coverage(judge)),
            "mean_score": _number(figures.judge_means.get(judge)),
        }
        for figures in analysis.strategies
        for judge in analysis.judges
    ]


def write_judge_coverage_csv(out: Path, analysis: Analysis) -> Path:
    buffer = io.StringIO()
    columns = ("method", "judge", "answered", "judged", "coverage", "mean_score")
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    writer.writerows(judge_coverage_rows(analysis))
    return write_text_atomic(out / "judge_coverage.csv", buffer.getvalue())


PAIRWISE_COLUMNS = (
    "judge",
    "first",
    "second",
    "first_wins",
    "second_wins",
    "ties",
    "unreadable",
    "first_win_rate",
    "consistency",
    "position_bias",
)


def write_pairwise_csv(out: Path, figures: Sequence[PairFigures]) -> Path:
    """Per judge and pair: wins each way, ties, unreadable replies, the first strategy's win
    rate, the share of questions judged the same in both orders, and the share of decisive
    judgements won by the answer shown first (0.5: no position bias)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=PAIRWISE_COLUMNS)
    writer.writeheader()
    for pair in figures:
        writer.writerow(
            {
                "judge": pair.judge,
                "first": pair.first,
                "second": pair.second,
                "first_wins": pair.first_wins,
                "second_wins": pair.second_wins,
                "ties": pair.ties,
                "unreadable": pair.unreadable,
                "first_win_rate": _number(pair.first_win_rate),
                "consistency": _number(pair.consistency),
                "position_bias": _number(pair.position_bias),
            }
        )
    return write_text_atomic(out / "pairwise.csv", buffer.getvalue())


PAIRED_TEST_COLUMNS = (
    "metric",
    "column",
    "first",
    "second",
    "mean_difference",
    "ci_low",
    "ci_high",
    "p_value",
    "adjusted_p_value",
    "n",
)


def write_paired_tests_csv(out: Path, tests: Sequence[PairedTest]) -> Path:
    """Every paired test of the run (`first - second`, Holm-adjusted within a metric): what
    `eval gate` reads to decide a comparison between strategies."""
    columns = {metric: column for column, metric in METRIC_COLUMNS.items()}
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=PAIRED_TEST_COLUMNS)
    writer.writeheader()
    for test in tests:
        writer.writerow(
            {
                "metric": test.metric,
                "column": columns.get(test.metric, ""),
                "first": test.first,
                "second": test.second,
                "mean_difference": _number(test.mean_difference, 6),
                "ci_low": _number(test.low, 6),
                "ci_high": _number(test.high, 6),
                "p_value": _number(test.p_value, 6),
                "adjusted_p_value": _number(test.adjusted_p_value, 6),
                "n": test.count,
            }
        )
    return write_text_atomic(out / "paired_tests.csv", buffer.getvalue())


def write_json(path: Path, value: Any) -> Path:
    text = json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n"
    return write_text_atomic(path, text)
