"""Command line: `python -m eval run|cost|report`; flags override `FMT_EVAL_*` settings."""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import os
import statistics
import sys
from pathlib import Path

from eval.client import ServiceNotReady
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
from eval.judges.jury import JurySpecError
from eval.manifest import read_manifest
from eval.paths import RunFiles
from eval.runner import RunConflict, RunOptions, run_evaluation
from eval.settings import STRATEGIES, EvalSettings
from eval.testset import QuestionSetError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m eval", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="evaluate a running service")
    run.add_argument("--url", help="the service, e.g. http://127.0.0.1:8000")
    run.add_argument("--testset", type=Path, help="JSON list of {question, answer, ...}")
    run.add_argument("--out", type=Path, help="output folder")
    run.add_argument("--resume", action="store_true", help="finish an interrupted run in --out")
    run.add_argument(
        "--force-resume",
        action="store_true",
        help="resume even though the service, scorers, judges or prices changed (recorded)",
    )
    run.add_argument("--overwrite", action="store_true", help="discard the run in --out first")
    run.add_argument("--concurrency", type=int, help="requests in flight")
    run.add_argument("--timeout", type=float, help="seconds per HTTP attempt")
    run.add_argument("--attempts", type=int, help="attempts per sample, first included")
    run.add_argument("--limit", type=int, help="only the first N questions")
    run.add_argument("--strategies", help=f"comma-separated subset of {','.join(STRATEGIES)}")
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
    for command in (run, cost, report, facts):
        command.add_argument("--prices", type=Path, help="price table (JSON)")
        command.add_argument("--usage", type=Path, help="usage assumptions (JSON)")
    return parser


def _settings(arguments: argparse.Namespace) -> EvalSettings:
    settings = EvalSettings()
    top = {
        name: value
        for name, value in {
            "url": getattr(arguments, "url", None),
            "testset": getattr(arguments, "testset", None),
            "out": getattr(arguments, "out", None),
            "prices": arguments.prices,
            "usage": arguments.usage,
        }.items()
        if value is not None
    }
    if getattr(arguments, "strategies", None):
        top["strategies"] = [s.strip() for s in arguments.strategies.split(",") if s.strip()]
    http = {
        name: value
        for name, value in {
            "concurrency": getattr(arguments, "concurrency", None),
            "timeout_s": getattr(arguments, "timeout", None),
            "max_attempts": getattr(arguments, "attempts", None),
        }.items()
        if value is not None
    }
    bert = {}
    if getattr(arguments, "bertscore_model", None):
        bert["model"] = arguments.bertscore_model
    if getattr(arguments, "bertscore_layers", None):
        bert["num_layers"] = arguments.bertscore_layers
    if getattr(arguments, "no_bertscore", False):
        bert["enabled"] = False
    jury: dict[str, object] = (
        {"judges": arguments.judge} if getattr(arguments, "judge", None) else {}
    )
    if getattr(arguments, "judge_mode", None):
        jury["mode"] = arguments.judge_mode
    return settings.model_copy(
        update={
            **top,
            "http": settings.http.model_copy(update=http),
            "bertscore": settings.bertscore.model_copy(update=bert),
            "jury": settings.jury.model_copy(update=jury),
        }
    )


def _shown(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.3f}"


def _run(arguments: argparse.Namespace, settings: EvalSettings) -> int:
    unknown = set(settings.strategies) - set(STRATEGIES)
    if unknown:
        print(f"unknown strategies: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
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
        print(
            f"{figures.strategy:<10} answered {figures.answered:>4}/{figures.samples:<4} "
            f"BERTScore {bert}  fact recall {facts}  judge {judge} "
            f"({figures.judged} judged)  latency p50 {_shown(figures.latency_p50_s)}s "
            f"p95 {_shown(figures.latency_p95_s)}s, {figures.failure_rate:.0%} failed, "
            f"{figures.retry_rate:.0%} retried"
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


def main(argv: list[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if arguments.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Models come from installed packages or the local cache, never from the hub at run time.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    commands = {"run": _run, "cost": _cost, "report": _report, "facts": _facts}
    try:
        return commands[arguments.command](arguments, _settings(arguments))
    except (RunConflict, QuestionSetError, CostInputError, JurySpecError, ServiceNotReady) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished samples are saved; rerun with --resume", file=sys.stderr)
        return 130
