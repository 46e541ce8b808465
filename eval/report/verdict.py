"""The plain-language verdict at the top of the report: who wins on what, and is it real.

A winner is named only where the paired tests say its lead over every other strategy is real;
otherwise the verdict says that the data cannot tell them apart. Banners say what the figures
cannot show (an untuned model, an unknown gold hit rate, no judge, too few judged answers).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from eval.aggregate import HIGHER_IS_BETTER, METRICS, TESTED_METRICS, Analysis, StrategyFigures
from eval.cost import StrategyCost
from eval.stats import PairedTest

NO_JUDGE = "No judge configured: no judge scores were computed (see docs/eval.md to add a jury)."


def _test_between(tests: Sequence[PairedTest], metric: str, a: str, b: str) -> PairedTest | None:
    for test in tests:
        if test.metric == metric and {test.first, test.second} == {a, b}:
            return test
    return None


def _p_value(test: PairedTest) -> float:
    return test.adjusted_p_value if not math.isnan(test.adjusted_p_value) else test.p_value


def _leads(test: PairedTest, best: str, higher_is_better: bool, significance: float) -> bool:
    """The test says `best` is better, not only different."""
    difference = test.mean_difference if test.first == best else -test.mean_difference
    better = difference > 0 if higher_is_better else difference < 0
    return better and _p_value(test) < significance


def _figure(f: StrategyFigures, metric: str) -> str:
    interval = f.intervals[metric]
    return f"{f.strategy} {interval.mean:.3f} [{interval.low:.3f}, {interval.high:.3f}]"


def metric_verdict(analysis: Analysis, metric: str) -> str | None:
    ranked = [f for f in analysis.strategies if not math.isnan(f.intervals[metric].mean)]
    if not ranked:
        return None
    higher = HIGHER_IS_BETTER[metric]
    ranked.sort(key=lambda f: -f.intervals[metric].mean if higher else f.intervals[metric].mean)
    best = ranked[0]
    figures = ", ".join(_figure(f, metric) for f in ranked)
    if len(ranked) == 1:
        return f"On {METRICS[metric]}: only {figures} was measured; nothing to compare."
    clauses, real = [], True
    for other in ranked[1:]:
        test = _test_between(analysis.tests, metric, best.strategy, other.strategy)
        if test is None or math.isnan(test.p_value):
            clauses.append(f"no paired data against {other.strategy}")
            real = False
            continue
        leads = _leads(test, best.strategy, higher, analysis.significance)
        real = real and leads
        verdict = "a real difference" if leads else "not distinguishable from noise"
        clauses.append(
            f"vs {other.strategy}: {verdict} (p = {_p_value(test):.3g}, n = {test.count})"
        )
    word = "best" if real else "no clear winner"
    head = (
        f"On {METRICS[metric]}, {best.strategy} is {word}"
        if real
        else f"On {METRICS[metric]}, {word}"
    )
    return f"{head} ({figures}); {best.strategy} {'; '.join(clauses)}."


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


def banners(analysis: Analysis) -> list[str]:
    """What the reader must know before believing a figure."""
    found = []
    for figures in analysis.strategies:
        if figures.untuned:
            found.append(
                f"{figures.strategy} ran an untuned model ({', '.join(figures.models)}): the "
                "service has no fine-tuned adapter for this catalog, so it measures the base "
                "model, not fine-tuning."
            )
    if analysis.gold_unknown:
        found.append(
            "Gold product hit rate unknown: no retrieved passage named any of the test set's "
            "products, so the service did not recognise the catalog's products (not a zero)."
        )
    if not analysis.judges and not analysis.pairwise:
        found.append(NO_JUDGE)
    else:
        few = [
            f"{f.strategy} ({f.judged} of {f.answered})"
            for f in analysis.strategies
            if f.judged < analysis.min_judged
        ]
        if few:
            found.append(
                f"Judge scores withheld below {analysis.min_judged} judged answers: "
                f"{', '.join(few)}."
            )
    return found


def pairwise_lines(analysis: Analysis) -> list[str]:
    """Pairwise preferences, each with its consistency across orders and position bias."""
    lines = []
    for pair in analysis.pairwise:
        if pair.judgements == 0:
            lines.append(
                f"Pairwise ({pair.judge}): no readable judgement of {pair.first} vs "
                f"{pair.second} ({pair.unreadable} unreadable)."
            )
            continue
        lines.append(
            f"Pairwise ({pair.judge}): {pair.first} preferred over {pair.second} in "
            f"{pair.first_win_rate:.0%} of {pair.judgements} judgements (ties half); the same "
            f"winner in both orders for {pair.consistent} of {pair.questions} questions; the "
            f"answer shown first won {pair.shown_first_chosen} of {pair.decisive} decisive "
            "judgements (position bias; half is none)."
        )
    return lines


def verdict_lines(
    analysis: Analysis,
    costs: dict[str, StrategyCost],
    break_even: float | None,
    days_per_month: float = 30.0,
) -> list[str]:
    lines = [line for m in TESTED_METRICS if (line := metric_verdict(analysis, m)) is not None]
    for figures in analysis.strategies:
        if figures.failed or figures.retried:
            lines.append(
                f"{figures.strategy}: {figures.failure_rate:.0%} of requests failed and "
                f"{figures.retry_rate:.0%} needed a retry; latency above counts them."
            )
    lines.extend(pairwise_lines(analysis))
    if (cost_line := cost_verdict(costs, break_even, days_per_month)) is not None:
        lines.append(cost_line)
    failed = len(analysis.failed_samples)
    if failed:
        lines.append(
            f"{failed} samples failed: their time to failure is in the latency figures, and "
            "they are excluded from the quality figures (listed below)."
        )
    return lines
