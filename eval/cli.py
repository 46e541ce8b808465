"""Command line: `python -m eval run|cost|report|facts|gate|compare`; flags override the
`FMT_EVAL_*` settings.

argparse, not pydantic-settings' CLI: the flags predate it and name settings at other paths
(`--timeout` is `http.timeout_s`, `--no-bertscore` is `bertscore.enabled=false`, `--judge` is
repeated into `jury.judges`), so keeping them means one alias per flag on a second model and
the same mapping onto `EvalSettings`. And tried with pydantic-settings 2.16.3, `--no-bertscore`
as a `CliImplicitFlag` parses to False (the flag collides with its own `--no-` negation, and
`--no-no-bertscore` appears): the flag would silently stop switching BERTScore off. The
mapping is one table (`SETTING_OF_FLAG`), and the settings are built once, validated, from it.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import os
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from eval.agreement import LabelsError
from eval.client import ServiceNotReady
from eval.compare import CompareRefused, compare_runs
from eval.cost import (
    CostInputError,
    break_even_requests,
    load_prices,
    load_usage,
    strategy_costs,
    with_measured_tokens,
)
from eval.cost_table import cost_table
from eval.fact_report import fact_recall_table
from eval.finalize import write_outputs
from eval.gate import GateError, run_gate
from eval.judges.jury import JurySpecError
from eval.manifest import read_manifest
from eval.metrics.bertscore import BackboneMissing
from eval.paths import RunFiles
from eval.report.compare_html import write_compare
from eval.runner import RunConflict, RunOptions, UnknownStrategy, run_evaluation
from eval.settings import DEFAULT_STRATEGIES, EvalSettings
from eval.testset import QuestionSetError


def _comma_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


# Each flag's setting, as a path in EvalSettings, and how its value is turned into it.
SETTING_OF_FLAG: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "url": ("url", str),
    "testset": ("testset", Path),
    "out": ("out", Path),
    "prices": ("prices", Path),
    "usage": ("usage", Path),
    "labels": ("labels", Path),
    "repeat": ("repeat", int),
    "strategies": ("strategies", _comma_list),
    "concurrency": ("http.concurrency", int),
    "timeout": ("http.timeout_s", float),
    "attempts": ("http.max_attempts", int),
    "judge": ("jury.judges", list),
    "judge_mode": ("jury.mode", str),
    "bertscore_model": ("bertscore.model", str),
    "bertscore_layers": ("bertscore.num_layers", int),
    "no_bertscore": ("bertscore.enabled", lambda given: not given),
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m eval", description=" ".join(__doc__.split("\n\n")[0].split())
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="evaluate a running service")
    run.add_argument("--url", help="the service, e.g. http://127.0.0.1:8000")
    run.add_argument("--testset", type=Path, help="JSON list of {question | messages, answer, ...}")
    run.add_argument("--out", type=Path, help="output folder")
    run.add_argument("--resume", action="store_true", help="finish an interrupted run in --out")
    run.add_argument(
        "--force-resume",
        action="store_true",
        help="resume even though the service, scorers, judges or prices changed (recorded)",
    )
    run.add_argument("--overwrite", action="store_true", help="discard the run in --out first")
    run.add_argument("--concurrency", type=int, help="requests in flight")
    run.add_argument("--timeout", type=float, help="seconds per HTTP attempt, whole reply read")
    run.add_argument("--attempts", type=int, help="attempts per sample, first included")
    run.add_argument("--limit", type=int, help="only the first N questions")
    run.add_argument(
        "--repeat", type=int, help="ask each question N times per strategy (run-to-run noise)"
    )
    run.add_argument(
        "--strategies",
        help=f"comma-separated subset of the service's strategies ({','.join(DEFAULT_STRATEGIES)})",
    )
    run.add_argument(
        "--judge",
        action="append",
        help="`bedrock` (the reference's three), `bedrock=MODEL_ID`, `openai=MODEL@BASE_URL`; "
        "repeat for a jury",
    )
    run.add_argument(
        "--judge-mode",
        choices=("pointwise", "pairwise"),
        help="score each answer (default), or compare each pair of strategies in both orders",
    )
    run.add_argument("--bertscore-model", help="`minilm` (default), `roberta-large`, or a folder")
    run.add_argument("--bertscore-layers", type=int, help="layer of the BERTScore backbone")
    run.add_argument("--no-bertscore", action="store_true", help="skip BERTScore")
    run.add_argument("--no-progress", action="store_true", help="no progress bars")
    cost = commands.add_parser("cost", help="print the monthly cost table")
    cost.add_argument("--measured", type=Path, help="a run folder: use its measured RAG tokens")
    report = commands.add_parser("report", help="rebuild the files of a run from its records")
    report.add_argument("--out", type=Path, required=True, help="the run folder")
    facts = commands.add_parser(
        "facts", help="fact recall of a run: the must_mention facts each strategy's answers state"
    )
    facts.add_argument("--out", type=Path, required=True, help="the run folder")
    facts.add_argument("--testset", type=Path, help="facts from this file (default: the run's)")
    facts.add_argument("--misses", action="store_true", help="list each answer's missing facts")
    for command in (run, report):
        command.add_argument(
            "--labels",
            type=Path,
            help="people's scores (CSV or JSON: question_id, strategy, "
            "score) to measure the judges' agreement with",
        )
    for command in (run, cost, report, facts):
        command.add_argument("--prices", type=Path, help="price table (JSON)")
        command.add_argument("--usage", type=Path, help="usage assumptions (JSON)")
    gate = commands.add_parser(
        "gate", help="pass/fail checks on a run: exit 0 all pass, 1 one fails, 2 a bad check"
    )
    gate.add_argument("run_dir", type=Path, help="the run folder")
    gate.add_argument(
        "checks", nargs="+", help="e.g. rag.fact_recall>=0.6 hybrid.fact_recall>rag.fact_recall"
    )
    compare = commands.add_parser("compare", help="what changed from run A to run B")
    compare.add_argument("run_a", type=Path, help="the earlier run (the baseline)")
    compare.add_argument("run_b", type=Path, help="the later run")
    compare.add_argument("--out", type=Path, help="where compare.csv and .html go (default RUN_B)")
    compare.add_argument(
        "--fail-on-regression", action="store_true", help="exit 1 when a metric got worse"
    )
    return parser


def _settings(arguments: argparse.Namespace) -> EvalSettings:
    """EvalSettings from the environment, with every flag given set at its path on top."""
    overrides: dict[str, Any] = {}
    for flag, (path, convert) in SETTING_OF_FLAG.items():
        given = getattr(arguments, flag, None)
        if given is None or given is False:  # not on the command line
            continue
        if flag == "out" and arguments.command == "compare":
            continue  # where the comparison goes, not a run folder
        *parents, name = path.split(".")
        target = overrides
        for parent in parents:
            target = target.setdefault(parent, {})
        target[name] = convert(given)
    return EvalSettings(**overrides)


def _shown(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.3f}"


def _run(arguments: argparse.Namespace, settings: EvalSettings) -> int:
    options = RunOptions(
        resume=arguments.resume,
        force_resume=arguments.force_resume,
        overwrite=arguments.overwrite,
        limit=arguments.limit,
        show_progress=not arguments.no_progress,
    )
    outputs = asyncio.run(run_evaluation(settings, options))
    for figures in outputs.analysis.strategies:
        bert = _shown(figures.intervals["bert_f1"].mean)
        facts = _shown(figures.intervals["fact_recall"].mean)
        judge = _shown(figures.intervals["judge_score"].mean)
        context = _shown(figures.intervals["context_fact_recall"].mean)
        invented = _shown(figures.intervals["unsupported_figure_rate"].mean)
        print(
            f"{figures.strategy:<10} answered {figures.answered:>4}/{figures.samples:<4} "
            f"BERTScore {bert}  fact recall {facts} (in sources {context}, "
            f"unsupported figures {invented})  judge {judge} "
            f"({figures.judged} judged)  latency p50 {_shown(figures.latency_p50_s)}s "
            f"p95 {_shown(figures.latency_p95_s)}s, {figures.failure_rate:.0%} failed, "
            f"{figures.retry_rate:.0%} retried; ran to max_tokens "
            f"{_shown(figures.ending_rate('length'))}, stopped repeating "
            f"{_shown(figures.ending_rate('repetition'))}"
        )
    files = RunFiles(settings.out)
    session = (read_manifest(files.manifest) or {}).get("last_session", {})
    if session.get("samples"):
        print(
            f"{session['samples']} answers in {session['wall_s']:.1f}s wall, "
            f"{session['sequential_s']:.1f}s one after another; {session['failures']} failed, "
            f"{session['throttled']} waits on the service's rate limit"
        )
    print(f"report: {files.report}")
    return 0


def _cost(arguments: argparse.Namespace, settings: EvalSettings) -> int:
    prices, usage = load_prices(settings.prices), load_usage(settings.usage)
    if arguments.measured:
        rag = [
            s
            for s in RunFiles(arguments.measured).samples().load().values()
            if s.ok and s.strategy == "rag" and s.input_tokens is not None
        ]
        if rag:
            usage = with_measured_tokens(
                usage,
                statistics.fmean(s.input_tokens or 0 for s in rag),
                statistics.fmean(s.output_tokens or 0 for s in rag),
                ", ".join(sorted({s.model for s in rag if s.model})) or "the service's model",
            )
    costs = strategy_costs(prices, usage)
    print(cost_table(costs, usage, break_even_requests(costs["rag"], costs["finetuned"])))
    return 0


def _report(arguments: argparse.Namespace, settings: EvalSettings) -> int:
    files = RunFiles(arguments.out)
    manifest = read_manifest(files.manifest) or {}
    if manifest.get("strategies"):
        settings = settings.model_copy(update={"strategies": manifest["strategies"]})
    if manifest.get("testset") and Path(manifest["testset"]).is_file():
        settings = settings.model_copy(update={"testset": Path(manifest["testset"])})
    outputs = write_outputs(files, settings, manifest, finished=False)
    print(f"report: {outputs.files[-1]}")
    return 0


def _facts(arguments: argparse.Namespace, settings: EvalSettings) -> int:
    manifest = read_manifest(RunFiles(arguments.out).manifest) or {}
    testset = arguments.testset or Path(manifest.get("testset") or settings.testset)
    print(fact_recall_table(RunFiles(arguments.out), testset, settings, arguments.misses))
    return 0


def _gate(arguments: argparse.Namespace, settings: EvalSettings) -> int:
    code, lines = run_gate(arguments.run_dir, arguments.checks, settings.statistics.significance)
    print("\n".join(lines))
    return code


def _compare(arguments: argparse.Namespace, settings: EvalSettings) -> int:
    comparison = compare_runs(arguments.run_a, arguments.run_b, settings.statistics)
    written = write_compare(arguments.out or arguments.run_b, comparison)
    print(
        f"{comparison.common_questions} questions in both runs ({comparison.only_a} only in A, "
        f"{comparison.only_b} only in B)"
    )
    for line in comparison.manifest_differences:
        print(f"differs: {line}")
    for change in comparison.changes:
        test = change.test
        print(
            f"{change.strategy:<10} {change.metric:<24} A {_shown(change.a)}  B {_shown(change.b)}"
            f"  B-A {_shown(test.mean_difference)} [{_shown(test.low)}, {_shown(test.high)}]"
            f"  p (Holm) {_shown(test.adjusted_p_value)}  n {test.count}  {change.direction}"
        )
    regressions = comparison.regressions
    print(
        f"{len(regressions)} regression(s)"
        + (": " + ", ".join(f"{c.strategy} {c.metric}" for c in regressions) if regressions else "")
    )
    print(f"report: {written[-1]}")
    return 1 if arguments.fail_on_regression and regressions else 0


USAGE_ERRORS = (
    RunConflict,
    QuestionSetError,
    CostInputError,
    JurySpecError,
    ServiceNotReady,
    UnknownStrategy,
    LabelsError,
    GateError,
    CompareRefused,
    BackboneMissing,
    ValidationError,
)


def main(argv: list[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if arguments.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Models come from installed packages or the local cache, never from the hub at run time.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    commands = {
        "run": _run,
        "cost": _cost,
        "report": _report,
        "facts": _facts,
        "gate": _gate,
        "compare": _compare,
    }
    try:
        return commands[arguments.command](arguments, _settings(arguments))
    except USAGE_ERRORS as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished samples are saved; rerun with --resume", file=sys.stderr)
        return 130
