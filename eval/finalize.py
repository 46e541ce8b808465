"""Turns a run's JSON-lines records into the per-strategy files, the summary and the report."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from eval.aggregate import Analysis, StrategyFigures, analyse, scores_of_backbone
from eval.agreement import agreement, load_labels
from eval.cost import (
    StrategyCost,
    UsageAssumptions,
    break_even_requests,
    hours_mismatch,
    load_prices,
    load_usage,
    strategy_costs,
    with_measured_tokens,
)
from eval.manifest import now, write_manifest
from eval.metrics.facts import Fact
from eval.outputs import (
    summary_row,
    write_json,
    write_judge_coverage_csv,
    write_paired_tests_csv,
    write_pairwise_csv,
    write_strategy_results,
    write_summary_csv,
)
from eval.pairwise_stats import pairwise_figures
from eval.paths import RunFiles
from eval.records import SampleRecord
from eval.report.html import render_report, write_report
from eval.settings import DEFAULT_STRATEGIES, EvalSettings
from eval.testset import QuestionSetError, load_testset

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Outputs:
    analysis: Analysis
    costs: dict[str, StrategyCost]
    files: list[Path]


def measured_per_thousand(
    figures: list[StrategyFigures], settings: EvalSettings, usage: UsageAssumptions
) -> dict[str, float]:
    """All-in cost per 1,000 requests at the assumed traffic, with each strategy's own measured
    token counts (they only change the per-token bill, i.e. RAG's). The counts are the serving
    model's tokenizer's, priced at the priced model's rates."""
    prices = load_prices(settings.prices)
    found = {}
    for strategy_figures in figures:
        measured = with_measured_tokens(
            usage,
            strategy_figures.input_tokens_mean,
            strategy_figures.output_tokens_mean,
            ", ".join(strategy_figures.models) or "the service's model",
        )
        cost = strategy_costs(prices, measured).get(strategy_figures.strategy)
        if cost is not None:
            found[strategy_figures.strategy] = cost.per_thousand_requests
    return found


def run_strategies(samples: Sequence[SampleRecord], wanted: Sequence[str]) -> list[str]:
    """The strategies a run answered, in the order asked for; with no order given, the usual
    three first, then the others by name."""
    present = {sample.strategy for sample in samples}
    if wanted:
        return [strategy for strategy in wanted if strategy in present]
    usual = [strategy for strategy in DEFAULT_STRATEGIES if strategy in present]
    return usual + sorted(present - set(usual))


def testset_facts(path: Path) -> dict[str, Sequence[Fact]] | None:
    """The test set's current facts by question id; None when the file is gone (the facts the
    samples recorded are used then)."""
    try:
        return {question.question_id: question.must_mention for question in load_testset(path)}
    except QuestionSetError:
        logger.warning("test set %s unreadable: fact recall uses the recorded facts", path)
        return None


def _cost_summary(
    costs: dict[str, StrategyCost], break_even: float | None, usage: UsageAssumptions
) -> dict[str, Any]:
    return {
        "monthly_usd": {name: round(cost.monthly, 2) for name, cost in costs.items()},
        "lines": {
            name: [asdict(line) for line in c.fixed + c.variable] for name, c in costs.items()
        },
        "break_even_requests_per_month_rag_vs_finetuned": break_even,
        "notes": [note] if (note := hours_mismatch(usage)) else [],
    }


def _backbone(manifest: dict[str, Any]) -> str | None:
    recorded = manifest.get("identity", {}).get("bertscore")
    return recorded if isinstance(recorded, str) and recorded != "disabled" else None


def _summary_json(
    analysis: Analysis, costs: dict[str, StrategyCost], per_thousand: dict[str, float]
) -> dict[str, Any]:
    """The summary rows, each with its strategy's funnel and within-question spreads."""
    return {
        "strategies": [
            {
                **summary_row(f, costs.get(f.strategy), per_thousand.get(f.strategy)),
                "funnel": asdict(f.funnel) if f.funnel else None,
                "within_question_sd": {
                    metric: round(value, 6)
                    for metric, value in f.spreads.items()
                    if value == value  # NaN: asked once
                },
            }
            for f in analysis.strategies
        ],
        "agreement_with_people": [asdict(a) for a in analysis.agreement],
    }


def write_outputs(
    files: RunFiles, settings: EvalSettings, manifest: dict[str, Any], finished: bool = True
) -> Outputs:
    samples = list(files.samples().load().values())
    bertscores = scores_of_backbone(files.bertscores().load(), _backbone(manifest))
    judgements = files.judgements().load()
    strategies = run_strategies(samples, settings.strategies)
    pairwise = pairwise_figures(files.pairwise().load(), strategies)
    analysis = analyse(
        samples,
        bertscores,
        judgements,
        strategies,
        settings.statistics,
        testset_facts(settings.testset),
    )
    analysis.pairwise = pairwise
    if settings.labels is not None:
        analysis.agreement = agreement(
            load_labels(settings.labels), samples, judgements, analysis.judges
        )
    prices, usage = load_prices(settings.prices), load_usage(settings.usage)
    costs = strategy_costs(prices, usage)
    break_even = break_even_requests(costs["rag"], costs["finetuned"])
    per_thousand = measured_per_thousand(analysis.strategies, settings, usage)
    if finished:
        manifest["finished_at"] = now()
    diagnoses = {d.sample.key: d for f in analysis.strategies for d in f.diagnoses}
    written = [
        write_strategy_results(files.out, strategy, samples, bertscores, judgements, diagnoses)
        for strategy in strategies
    ]
    written.append(write_summary_csv(files.out, analysis, costs, per_thousand))
    written.append(write_paired_tests_csv(files.out, analysis.tests))
    written.append(
        write_json(files.out / "summary_results.json", _summary_json(analysis, costs, per_thousand))
    )
    if analysis.judges:
        written.append(write_judge_coverage_csv(files.out, analysis))
    if pairwise:
        written.append(write_pairwise_csv(files.out, pairwise))
    written.append(write_json(files.out / "cost.json", _cost_summary(costs, break_even, usage)))
    written.append(write_manifest(files.manifest, manifest))
    html = render_report(analysis, costs, break_even, manifest, per_thousand, usage)
    written.append(write_report(files.report, html))
    logger.info("wrote %s", ", ".join(path.name for path in written))
    return Outputs(analysis, costs, written)
