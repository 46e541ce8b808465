"""`python -m eval.retrieval`: build the local index ahead of time, measure its hit rate."""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Sequence
from pathlib import Path

from app.core.types import Passage
from app.retrievers.follow_up import resolve_follow_up
from app.retrievers.local import LocalRetriever, build_local_retriever, prepare_index
from app.retrievers.products import ProductLexicon
from app.settings import PROJECT_ROOT, Settings
from eval.retrieval.hit_rate import (
    FactCounts,
    GoldQuestion,
    Search,
    measure_hit_rate,
    read_test_questions,
)

TEST_DIR = PROJECT_ROOT / "data" / "test"
DEFAULT_TEST_SETS = [TEST_DIR / "test.json", TEST_DIR / "conversations.json"]


def conversation_search(retriever: LocalRetriever) -> Search:
    """What the service searches for an item: its follow-up resolved against the conversation by
    the catalog's product lexicon (app.retrievers.follow_up), as the strategies do."""
    lexicon = ProductLexicon(retriever.products)

    def search(item: GoldQuestion, top_k: int) -> list[Passage]:
        query = resolve_follow_up(lexicon, item.question, item.history)
        return retriever.search(query.text, top_k, query.products)

    return search


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
        nargs="*",
        metavar="TEST_JSON",
        help="share of questions (and of follow-up conversations, items with `messages`) whose "
        "gold product is in the top k (default: data/test/test.json and conversations.json)",
    )
    parser.add_argument("--top-k", type=int, default=3, help="passages per question (default 3)")
    parser.add_argument("--show-misses", action="store_true", help="list the missed questions")
    return parser


def _fact_line(counts: FactCounts, top_k: int) -> str:
    return (
        f"must_mention facts stated by the first passage {counts.in_first}/{counts.facts}, "
        f"by the top {top_k} {counts.in_top_k}/{counts.facts}"
    )


def _report_hit_rate(
    settings: Settings, test_sets: Sequence[Path], top_k: int, show_misses: bool
) -> None:
    started = time.perf_counter()
    retriever = build_local_retriever(settings)
    print(f"retriever ready in {time.perf_counter() - started:.2f} s")
    questions = [item for path in test_sets for item in read_test_questions(path)]
    # One warm-up query: the first call pays for lazy initialisation inside torch.
    retriever.search(questions[0].question, top_k)
    report = measure_hit_rate(conversation_search(retriever), questions, top_k)
    print(
        f"hit rate @{top_k}: {report.hits}/{report.questions} = {report.hit_rate:.1%}; "
        f"query p50 {report.p50_ms:.1f} ms, p95 {report.p95_ms:.1f} ms"
    )
    if report.conversations:
        singles = report.questions - report.conversations
        single_hits = report.hits - report.conversation_hits
        print(
            f"  questions: {single_hits}/{singles}; follow-up conversations: "
            f"{report.conversation_hits}/{report.conversations} = "
            f"{report.conversation_hit_rate:.1%}"
        )
    for label, counts in (
        ("questions", report.question_facts),
        ("follow-up conversations", report.conversation_facts),
    ):
        if counts.facts:
            print(f"  {label}: {_fact_line(counts, top_k)}")
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
    test_sets = arguments.hit_rate or [path for path in DEFAULT_TEST_SETS if path.exists()]
    _report_hit_rate(settings, test_sets, arguments.top_k, arguments.show_misses)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
