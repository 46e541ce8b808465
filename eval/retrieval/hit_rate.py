"""Retrieval quality and speed on a QA test set: how often the gold product is in the top k."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from app.catalog.naming import names_product
from app.core.types import Passage

Search = Callable[[str, int], list[Passage]]


@dataclass(frozen=True, slots=True)
class GoldQuestion:
    """One question of the test set and the product whose documentation answers it."""

    product_name: str
    question: str
    section: str = ""


@dataclass(frozen=True, slots=True)
class Miss:
    """A question whose gold product was not among the retrieved products."""

    question: str
    product_name: str
    retrieved: list[str]


@dataclass(slots=True)
class HitRateReport:
    """Hits of the gold product in the top k, and query latency over the same questions."""

    top_k: int
    questions: int = 0
    hits: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    misses: list[Miss] = field(default_factory=list)

    @property
    def hit_rate(self) -> float:
        return self.hits / self.questions if self.questions else 0.0

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.latencies_ms) if self.latencies_ms else 0.0

    @property
    def p95_ms(self) -> float:
        if len(self.latencies_ms) < 2:
            return self.p50_ms
        return statistics.quantiles(self.latencies_ms, n=20)[-1]


def read_test_questions(path: Path) -> list[GoldQuestion]:
    """The test set: a JSON list of objects with product_name and question (section optional)."""
    records = json.loads(path.read_text(encoding="utf-8"))
    return [
        GoldQuestion(
            product_name=str(record["product_name"]),
            question=str(record["question"]),
            section=str(record.get("section", "")),
        )
        for record in records
    ]


def measure_hit_rate(
    search: Search, questions: Sequence[GoldQuestion], top_k: int = 3
) -> HitRateReport:
    """Ask every question once; a hit is the gold product among the top_k passages' titles."""
    report = HitRateReport(top_k=top_k)
    for item in questions:
        started = time.perf_counter()
        passages = search(item.question, top_k)
        report.latencies_ms.append((time.perf_counter() - started) * 1000)
        report.questions += 1
        titles = [passage.title for passage in passages]
        if any(names_product(title, item.product_name) for title in titles):
            report.hits += 1
        else:
            report.misses.append(Miss(item.question, item.product_name, titles))
    return report
