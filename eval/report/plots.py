"""Plots as inline SVG text, drawn without pyplot: no GUI, no global state, no external links."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

from matplotlib.figure import Figure

from eval.aggregate import METRICS, StrategyFigures
from eval.cost import StrategyCost

COLOURS = {"rag": "#1f77b4", "finetuned": "#ff7f0e", "hybrid": "#2ca02c"}


def _svg(figure: Figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    text = buffer.getvalue()
    return text[text.find("<svg") :]


def _colour(strategy: str) -> str:
    return COLOURS.get(strategy, "#7f7f7f")


def distribution_plot(figures: Sequence[StrategyFigures], metrics: Sequence[str]) -> str | None:
    """One box plot per metric, a box per strategy, the points over it."""
    shown = [m for m in metrics if any(f.values[m] for f in figures)]
    if not shown:
        return None
    figure = Figure(figsize=(4.2 * len(shown), 3.4))
    for position, metric in enumerate(shown, start=1):
        axes = figure.add_subplot(1, len(shown), position)
        data = [list(f.values[metric].values()) or [math.nan] for f in figures]
        axes.boxplot(data, showfliers=False)
        axes.set_xticks(range(1, len(figures) + 1), [f.strategy for f in figures])
        for index, (values, strategy) in enumerate(
            zip(data, [f.strategy for f in figures], strict=True), start=1
        ):
            jitter = [index + ((n % 7) - 3) * 0.03 for n in range(len(values))]
            axes.scatter(jitter, values, s=9, alpha=0.6, color=_colour(strategy))
        axes.set_title(METRICS[metric])
        axes.grid(axis="y", alpha=0.3)
    return _svg(figure)


def cost_quality_plot(
    figures: Sequence[StrategyFigures], costs: dict[str, StrategyCost], metric: str
) -> str | None:
    points = [
        (f, costs[f.strategy].monthly)
        for f in figures
        if f.strategy in costs and not math.isnan(f.intervals[metric].mean)
    ]
    if not points:
        return None
    figure = Figure(figsize=(5.5, 3.6))
    axes = figure.add_subplot(1, 1, 1)
    for number, (strategy_figures, monthly) in enumerate(points):
        interval = strategy_figures.intervals[metric]
        axes.errorbar(
            [monthly],
            [interval.mean],
            yerr=[[interval.mean - interval.low], [interval.high - interval.mean]],
            fmt="o",
            capsize=4,
            color=_colour(strategy_figures.strategy),
            label=strategy_figures.strategy,
        )
        axes.annotate(
            strategy_figures.strategy,
            (monthly, interval.mean),
            xytext=(6, 4 - 12 * number),  # stacked, so equal points stay readable
            textcoords="offset points",
        )
    axes.set_xlim(left=0)
    axes.set_xlabel("monthly cost (USD, usage assumptions)")
    axes.set_ylabel(f"{METRICS[metric]} (95% CI)")
    axes.grid(alpha=0.3)
    return _svg(figure)
