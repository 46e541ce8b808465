"""Asks every strategy every question, concurrently, writing each answer as it arrives."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from tqdm import tqdm

from eval.client import CallOutcome, ServiceClient
from eval.records import SampleRecord, SourceRecord, sample_key
from eval.store import JsonlStore
from eval.testset import EvalQuestion

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CollectionTotals:
    """`sequential_s` sums the answered samples' latencies: what one after another would take."""

    samples: int
    failures: int
    throttled: int
    wall_s: float
    sequential_s: float


def gold_product_retrieved(product_name: str, sources: Sequence[SourceRecord]) -> bool | None:
    """Whether any retrieved passage belongs to the product the question is about."""
    if not product_name or not sources:
        return None
    wanted = product_name.casefold()
    return any(
        wanted in source.title.casefold() or wanted in source.location.casefold()
        for source in sources
    )


Work = tuple[str, EvalQuestion, int]  # strategy, question, which asking of it


def record_of(
    strategy: str, question: EvalQuestion, outcome: CallOutcome, repeat: int = 0
) -> SampleRecord:
    record = SampleRecord(
        key=sample_key(strategy, question.question_id, repeat),
        strategy=strategy,
        question_id=question.question_id,
        index=question.index,
        repeat=repeat,
        question=question.question,
        ground_truth=question.answer,
        product_name=question.product_name,
        section=question.section,
        must_mention=[list(fact) for fact in question.must_mention],
        ok=outcome.response is not None,
        error=outcome.error,
        status_code=outcome.status_code,
        attempts=outcome.attempts,
        throttled=outcome.throttled,
        latency_ms=outcome.latency_ms,
        elapsed_ms=outcome.elapsed_ms,
        throttle_wait_ms=outcome.throttle_wait_ms,
        finished_at=datetime.now(UTC).isoformat(),
    )
    response = outcome.response
    if response is None:
        return record
    sources = [
        SourceRecord(id=s.id, title=s.title, location=s.location, score=s.score, text=s.text)
        for s in response.sources
    ]
    return record.model_copy(
        update={
            "answer": response.answer,
            "sources": sources,
            "model": response.model,
            "input_tokens": response.usage.input_tokens,
            "output_tokens": response.usage.output_tokens,
            "tokens_estimated": response.usage.estimated,
            "finish_reason": response.finish_reason,
            "server_retrieve_ms": response.timings_ms.retrieve,
            "server_generate_ms": response.timings_ms.generate,
            "server_total_ms": response.timings_ms.total,
            "request_id": response.request_id,
            "gold_product_retrieved": gold_product_retrieved(question.product_name, sources),
        }
    )


def pending_work(
    questions: Sequence[EvalQuestion],
    strategies: Sequence[str],
    done: dict[Hashable, SampleRecord],
    repeat: int = 1,
) -> list[Work]:
    """(strategy, question, asking) without a successful answer yet, strategies interleaved so
    that all three see the same load at the same time."""
    return [
        (strategy, question, asking)
        for asking in range(repeat)
        for question in questions
        for strategy in strategies
        if not (
            (record := done.get(sample_key(strategy, question.question_id, asking))) and record.ok
        )
    ]


async def collect_answers(
    client: ServiceClient,
    store: JsonlStore[SampleRecord],
    work: Sequence[Work],
    concurrency: int,
    show_progress: bool = True,
) -> CollectionTotals:
    """Run the work with at most `concurrency` requests in flight."""
    semaphore = asyncio.Semaphore(concurrency)
    failures = throttled = 0
    latency_ms = 0.0
    with tqdm(total=len(work), desc="answers", unit="sample", disable=not show_progress) as bar:

        async def one(strategy: str, question: EvalQuestion, asking: int) -> None:
            nonlocal failures, throttled, latency_ms
            async with semaphore:
                outcome = await client.answer(strategy, question.request_body())
            record = record_of(strategy, question, outcome, asking)
            await asyncio.to_thread(store.append, record)
            latency_ms += record.latency_ms or 0.0
            throttled += record.throttled
            if not record.ok:
                failures += 1
                logger.warning("sample %s failed: %s", record.key, record.error)
            bar.update(1)
            bar.set_postfix(failed=failures)

        started = time.perf_counter()
        await asyncio.gather(*(one(*item) for item in work))
    return CollectionTotals(
        samples=len(work),
        failures=failures,
        throttled=throttled,
        wall_s=time.perf_counter() - started,
        sequential_s=latency_ms / 1000.0,
    )
