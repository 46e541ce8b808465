"""Renders report.html from an analysis, the costs and the run manifest."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from jinja2 import Environment, select_autoescape

from eval.aggregate import METRICS, Analysis, StrategyFigures
from eval.atomic import write_text_atomic
from eval.cost import StrategyCost, UsageAssumptions, hours_mismatch
from eval.diagnosis import AnswerDiagnosis, Funnel
from eval.report.plots import cost_quality_plot, distribution_plot
from eval.report.template import TEMPLATE
from eval.report.verdict import banners, verdict_lines
from eval.stats import Interval


def _fmt(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def _interval(interval: Interval, digits: int = 3) -> str:
    if interval.count == 0:
        return "n/a"
    low, high = _fmt(interval.low, digits), _fmt(interval.high, digits)
    return f"{_fmt(interval.mean, digits)} [{low}, {high}]"


def _percent(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.0%}"


def _row(
    figures: StrategyFigures, cost: StrategyCost | None, per_thousand: float | None
) -> dict[str, str]:
    tokens_in, tokens_out = figures.input_tokens_mean, figures.output_tokens_mean
    judged = f"{figures.judged}/{figures.answered}" if figures.judge_counts else "n/a"
    if not figures.retrieves:
        hit = "n/a"
    elif figures.gold_hit_rate is None:
        hit = "unknown"
    else:
        hit = _fmt(figures.gold_hit_rate, 2)
    return {
        "strategy": figures.strategy + (" (untuned model)" if figures.untuned else ""),
        "answered": str(figures.answered),
        "failed": str(figures.failed),
        "bert": _interval(figures.intervals["bert_f1"]),
        "facts": _interval(figures.intervals["fact_recall"]),
        "context_facts": _interval(figures.intervals["context_fact_recall"]),
        "invented": _interval(figures.intervals["unsupported_figure_rate"]),
        "judge": _interval(figures.intervals["judge_score"]),
        "judged": judged,
        "hit": hit,
        "monthly": f"{cost.monthly:,.0f}" if cost else "n/a",
        "per_thousand": _fmt(per_thousand, 2),
        "tokens": f"{_fmt(tokens_in, 0)} / {_fmt(tokens_out, 0)}",
    }


def _latency_row(figures: StrategyFigures) -> dict[str, str]:
    return {
        "strategy": figures.strategy,
        "latency": _interval(figures.intervals["latency_s"], 2),
        "p50": _fmt(figures.latency_p50_s, 2),
        "p95": _fmt(figures.latency_p95_s, 2),
        "failure_rate": _percent(figures.failure_rate),
        "retry_rate": _percent(figures.retry_rate),
        "answered": _interval(figures.intervals["latency_ok_s"], 2),
        "answered_p95": _fmt(figures.ok_latency_p95_s, 2),
        "retrieve": _fmt(figures.server_retrieve_mean_s, 3),
        "generate": _fmt(figures.server_generate_mean_s, 2),
        "server": f"{_fmt(figures.server_total_mean_s, 2)} / {_fmt(figures.server_total_p95_s, 2)}",
    }


def _tests(analysis: Analysis) -> list[dict[str, str]]:
    spreads = {f.strategy: f.spreads for f in analysis.strategies}
    return [
        {
            "metric": METRICS[test.metric],
            "pair": f"{test.first} - {test.second}",
            "difference": f"{_fmt(test.mean_difference)} [{_fmt(test.low)}, {_fmt(test.high)}]",
            "p": _fmt(test.p_value, 4),
            "adjusted": _fmt(test.adjusted_p_value, 4),
            "n": str(test.count),
            "spread": " / ".join(
                _fmt(spreads.get(name, {}).get(test.metric)) for name in (test.first, test.second)
            ),
        }
        for test in analysis.tests
    ]


def _share(part: int | None, whole: int) -> str:
    if part is None:
        return "n/a (no sources)"
    return f"{part}/{whole} ({part / whole:.0%})" if whole else "n/a"


def _funnel_row(figures: StrategyFigures, funnel: Funnel) -> dict[str, str]:
    return {
        "strategy": figures.strategy,
        "answers": str(funnel.answers),
        "retrieved": _share(funnel.retrieved, funnel.facts),
        "stated": _share(funnel.stated, funnel.facts),
        "inventing": _share(funnel.answers_inventing, funnel.answers),
        "invented": str(funnel.invented),
    }


def _drill_down(diagnosis: AnswerDiagnosis) -> dict[str, Any]:
    sample = diagnosis.sample
    return {
        "index": sample.index,
        "repeat": sample.repeat,
        "question": sample.question,
        "reference": sample.ground_truth,
        "answer": sample.answer,
        "sources": [
            f"{source.title} ({source.location}): {source.text[:300]}" for source in sample.sources
        ],
        "missed": [f"{missed.shown}: {missed.where}" for missed in diagnosis.missed],
        "invented": ", ".join(diagnosis.invented),
    }


def _drill_downs(analysis: Analysis) -> list[dict[str, Any]]:
    """Per strategy, the answers that missed a fact or invented a figure."""
    return [
        {
            "strategy": f.strategy,
            "shown": [
                _drill_down(d)
                for d in sorted(f.diagnoses, key=lambda d: (d.sample.index, d.sample.repeat))
                if d.missed or d.invented
            ],
            "answers": len(f.diagnoses),
        }
        for f in analysis.strategies
    ]


def _agreement_rows(analysis: Analysis) -> list[dict[str, str]]:
    return [
        {
            "judge": row.judge,
            "n": str(row.count),
            "spearman": _fmt(row.spearman),
            "mad": _fmt(row.mean_absolute_difference),
        }
        for row in analysis.agreement
    ]


def _judge_rows(analysis: Analysis) -> list[dict[str, Any]]:
    return [
        {
            "strategy": f.strategy,
            "means": [
                f"{_fmt(f.judge_means.get(judge))} ({f.judge_counts.get(judge, 0)}/{f.answered}"
                f", {_percent(f.judge_coverage(judge))})"
                for judge in analysis.judges
            ],
            "spread": _fmt(f.judge_spread),
            "failed": f.failed_judgements,
        }
        for f in analysis.strategies
        if analysis.judges
    ]


def _cost_lines(costs: dict[str, StrategyCost]) -> list[dict[str, str]]:
    return [
        {
            "strategy": cost.strategy,
            "item": line.item,
            "monthly": f"{line.monthly:,.2f}",
            "detail": line.detail,
        }
        for cost in costs.values()
        for line in cost.fixed + cost.variable
    ]


def render_report(
    analysis: Analysis,
    costs: dict[str, StrategyCost],
    break_even: float | None,
    manifest: dict[str, Any],
    per_thousand: dict[str, float],
    usage: UsageAssumptions,
) -> str:
    judged = any(not math.isnan(f.intervals["judge_score"].mean) for f in analysis.strategies)
    quality = "judge_score" if judged else "bert_f1"
    context = {
        "manifest": manifest,
        "banners": banners(analysis),
        "verdict": verdict_lines(analysis, costs, break_even, usage.days_per_month),
        "rows": [
            _row(f, costs.get(f.strategy), per_thousand.get(f.strategy))
            for f in analysis.strategies
        ],
        "latency_rows": [_latency_row(f) for f in analysis.strategies],
        "min_judged": analysis.min_judged,
        "generator_model": usage.generator_model,
        "cost_notes": [note] if (note := hours_mismatch(usage)) else [],
        "judges": analysis.judges,
        "judge_rows": _judge_rows(analysis),
        "bert_backbone": analysis.bert_backbone,
        "plots": {
            "scores": distribution_plot(
                analysis.strategies,
                ["bert_f1", "fact_recall", "context_fact_recall", "judge_score"],
            ),
            "latency": distribution_plot(analysis.strategies, ["latency_s"]),
            "cost": cost_quality_plot(analysis.strategies, costs, quality),
        },
        "cost_lines": _cost_lines(costs),
        "pairwise": [
            {
                "judge": pair.judge,
                "pair": f"{pair.first} vs {pair.second}",
                "wins": f"{pair.first_wins} / {pair.second_wins} / {pair.ties}",
                "unreadable": str(pair.unreadable),
                "rate": _percent(pair.first_win_rate),
                "consistency": _percent(pair.consistency),
                "bias": _percent(pair.position_bias),
            }
            for pair in analysis.pairwise
        ],
        "tests": _tests(analysis),
        "repeats": max((f.repeats for f in analysis.strategies), default=1),
        "funnel": [_funnel_row(f, f.funnel) for f in analysis.strategies if f.funnel],
        "drill_downs": _drill_downs(analysis),
        "agreement": _agreement_rows(analysis),
        "failed": analysis.failed_samples,
    }
    environment = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    return environment.from_string(TEMPLATE).render(**context)


def write_report(path: Path, html: str) -> Path:
    return write_text_atomic(path, html)
