"""`eval facts`: fact recall of a finished (or interrupted) run, read from its records."""

from __future__ import annotations

from pathlib import Path

from eval.diagnosis import diagnose
from eval.finalize import run_strategies
from eval.paths import RunFiles
from eval.settings import EvalSettings
from eval.stats import bootstrap_interval
from eval.testset import load_testset


def fact_recall_table(files: RunFiles, testset: Path, settings: EvalSettings, misses: bool) -> str:
    """Per strategy: mean fact recall over answered questions with its bootstrap interval, the
    share of the facts found in the returned sources, and how many answers stated every fact;
    with `misses`, the facts each answer left out and where each was lost."""
    facts = {question.question_id: question.must_mention for question in load_testset(testset)}
    samples = sorted(files.samples().load().values(), key=lambda s: (s.strategy, s.index, s.repeat))
    statistics = settings.statistics
    lines = [f"fact recall of {files.out} against the must_mention facts of {testset}", ""]
    lines.append(
        f"{'strategy':<10} {'answers':>7} {'recall [95% CI]':>26} {'in sources':>10} "
        f"{'all facts':>10}"
    )
    missing_lines: list[str] = []
    for strategy in run_strategies(samples, settings.strategies):
        answered = [s for s in samples if s.strategy == strategy and s.ok]
        retrieves = any(s.sources for s in answered)
        recalls, in_sources, complete = [], [], 0
        for sample in answered:
            diagnosis = diagnose(sample, facts.get(sample.question_id, ()), retrieves)
            if diagnosis.fact_recall is None:
                continue
            recalls.append(diagnosis.fact_recall)
            if diagnosis.context_fact_recall is not None:
                in_sources.append(diagnosis.context_fact_recall)
            complete += not diagnosis.missed
            if diagnosis.missed:
                wanted = "; ".join(f"{m.shown} ({m.where})" for m in diagnosis.missed)
                missing_lines.append(f"{strategy:<10} q{sample.index:<3} missing: {wanted}")
        interval = bootstrap_interval(
            recalls, statistics.resamples, statistics.seed, statistics.confidence
        )
        shown = (
            f"{interval.mean:.3f} [{interval.low:.3f}, {interval.high:.3f}]" if recalls else "n/a"
        )
        sourced = f"{sum(in_sources) / len(in_sources):.3f}" if in_sources else "n/a"
        lines.append(
            f"{strategy:<10} {len(recalls):>7} {shown:>26} {sourced:>10} "
            f"{complete:>4}/{len(recalls)}"
        )
    if misses and missing_lines:
        lines += ["", *missing_lines]
    return "\n".join(lines)
