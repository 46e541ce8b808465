"""`python -m eval.retrieval`: build the local index ahead of time, measure its hit rate."""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Sequence
from pathlib import Path

from app.retrievers.local import build_local_retriever, prepare_index
from app.settings import PROJECT_ROOT, Settings
from eval.retrieval.hit_rate import measure_hit_rate, read_test_questions

DEFAULT_TEST_SET = PROJECT_ROOT / "data" / "test" / "test.json"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m eval.retrieval",
        description="Build the local retrieval index, or measure retrieval on a QA test set.",
    )
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--build", action="store_true", help="build (or find) the index")
    action.add_argument(
        "--hit-rate",
        type=Path,
        nargs="?",
        const=DEFAULT_TEST_SET,
        metavar="TEST_JSON",
        help="share of questions whose gold product is in the top k (default: data/test)",
    )
    parser.add_argument("--top-k", type=int, default=3, help="passages per question (default 3)")
    parser.add_argument("--show-misses", action="store_true", help="list the missed questions")
    return parser


def _report_hit_rate(settings: Settings, test_set: Path, top_k: int, show_misses: bool) -> None:
    started = time.perf_counter()
    retriever = build_local_retriever(settings)
    print(f"retriever ready in {time.perf_counter() - started:.2f} s")
    questions = read_test_questions(test_set)
    # One warm-up query: the first call pays for lazy initialisation inside torch.
    retriever.search(questions[0].question, top_k)
    report = measure_hit_rate(retriever.search, questions, top_k)
    print(
        f"hit rate @{top_k}: {report.hits}/{report.questions} = {report.hit_rate:.1%}; "
        f"query p50 {report.p50_ms:.1f} ms, p95 {report.p95_ms:.1f} ms"
    )
    if show_misses:
        for miss in report.misses:
            print(f"  miss: {miss.question!r} gold={miss.product_name!r} got={miss.retrieved}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the process exit status."""
    arguments = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    settings = Settings()
    if arguments.build:
        started = time.perf_counter()
        folder = prepare_index(settings)
        print(f"index ready at {folder} in {time.perf_counter() - started:.2f} s")
        return 0
    _report_hit_rate(settings, arguments.hit_rate, arguments.top_k, arguments.show_misses)
    return 0
