"""`eval facts`: fact recall of a finished (or interrupted) run, read from its records."""

from __future__ import annotations

from pathlib import Path

from eval.finalize import run_strategies
from eval.metrics.facts import check_facts
from eval.paths import RunFiles
from eval.settings import EvalSettings
from eval.stats import bootstrap_interval
from eval.testset import load_testset


def fact_recall_table(files: RunFiles, testset: Path, settings: EvalSettings, misses: bool) -> str:
    """Per strategy: mean fact recall over answered questions with its bootstrap interval, and
    how many answers stated every fact; with `misses`, the facts each answer left out."""
    facts = {question.question_id: question.must_mention for question in load_testset(testset)}
    samples = sorted(files.samples().load().values(), key=lambda s: (s.strategy, s.index))
    statistics = settings.statistics
    lines = [f"fact recall of {files.out} against the must_mention facts of {testset}", ""]
    lines.append(f"{'strategy':<10} {'answers':>7} {'recall [95% CI]':>26} {'all facts':>10}")
    missing_lines: list[str] = []
    for strategy in run_strategies(samples, settings.strategies):
        recalls, complete = [], 0
        for sample in samples:
            if sample.strategy != strategy or not sample.ok:
                continue
            check = check_facts(sample.answer, facts.get(sample.question_id, ()))
            if check is None:
                continue
            recalls.append(check.recall)
            complete += not check.missing
            if check.missing:
                wanted = "; ".join(" / ".join(fact) for fact in check.missing)
                missing_lines.append(f"{strategy:<10} q{sample.index:<3} missing: {wanted}")
        interval = bootstrap_interval(
            recalls, statistics.resamples, statistics.seed, statistics.confidence
        )
        shown = (
            f"{interval.mean:.3f} [{interval.low:.3f}, {interval.high:.3f}]" if recalls else "n/a"
        )
        lines.append(f"{strategy:<10} {len(recalls):>7} {shown:>26} {complete:>4}/{len(recalls)}")
    if misses and missing_lines:
        lines += ["", *missing_lines]
    return "\n".join(lines)
