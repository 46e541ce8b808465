"""The plain-language verdict at the top of the report: who wins on what, and is it real."""

from __future__ import annotations

import math
from collections.abc import Sequence

from eval.aggregate import HIGHER_IS_BETTER, METRICS, Analysis
from eval.cost import StrategyCost
from eval.stats import PairedTest

SIGNIFICANCE = 0.05
NO_JUDGE = "No judge configured: no judge scores were computed (see docs/eval.md to add a jury)."


def _test_between(tests: Sequence[PairedTest], metric: str, a: str, b: str) -> PairedTest | None:
    for test in tests:
        if test.metric == metric and {test.first, test.second} == {a, b}:
            return test
    return None


def _p_value(test: PairedTest) -> float:
    return test.adjusted_p_value if not math.isnan(test.adjusted_p_value) else test.p_value


def metric_verdict(analysis: Analysis, metric: str) -> str | None:
    ranked = [f for f in analysis.strategies if not math.isnan(f.intervals[metric].mean)]
    if not ranked:
        return None
    sign = 1.0 if HIGHER_IS_BETTER[metric] else -1.0
    ranked.sort(key=lambda f: -sign * f.intervals[metric].mean)
    best = ranked[0]
    interval = best.intervals[metric]
    word = "highest" if HIGHER_IS_BETTER[metric] else "lowest"
    parts = [
        f"On {METRICS[metric]}, {best.strategy} is {word} "
        f"({interval.mean:.3f}, 95% CI {interval.low:.3f} to {interval.high:.3f})"
    ]
    clauses = []
    for other in ranked[1:]:
        test = _test_between(analysis.tests, metric, best.strategy, other.strategy)
        if test is None or math.isnan(test.p_value):
            clauses.append(f"no paired data against {other.strategy}")
            continue
        p_value = _p_value(test)
        verdict = (
            "a real difference" if p_value < SIGNIFICANCE else "not distinguishable from noise"
        )
        clauses.append(f"vs {other.strategy}: {verdict} (p = {p_value:.3g}, n = {test.count})")
    if clauses:
        parts.append("; ".join(clauses))
    return ": ".join(parts) + "."


def cost_verdict(
    costs: dict[str, StrategyCost], break_even: float | None, days_per_month: float = 30.0
) -> str | None:
    if not costs:
        return None
    cheapest = min(costs.values(), key=lambda cost: cost.monthly)
    text = (
        f"At the usage assumptions, {cheapest.strategy} is cheapest "
        f"(${cheapest.monthly:,.0f}/month)."
    )
    if break_even is not None:
        text += (
            f" RAG and the fine-tuned endpoint cost the same at about {break_even:,.0f} "
            f"requests/month ({break_even / days_per_month:,.0f}/day)."
        )
    return text


def verdict_lines(
    analysis: Analysis,
    costs: dict[str, StrategyCost],
    break_even: float | None,
    days_per_month: float = 30.0,
) -> list[str]:
    lines = [line for m in METRICS if (line := metric_verdict(analysis, m)) is not None]
    if not analysis.judges:
        lines.append(NO_JUDGE)
    if (cost_line := cost_verdict(costs, break_even, days_per_month)) is not None:
        lines.append(cost_line)
    failed = len(analysis.failed_samples)
    if failed:
        lines.append(f"{failed} samples failed and are excluded from the figures (listed below).")
    return lines
