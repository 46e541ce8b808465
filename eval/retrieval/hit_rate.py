"""Retrieval quality and speed on a QA test set: how often the gold product is in the top k,
and how many of the `must_mention` facts the first passage and the top k state, for single
questions and for the last turn of follow-up conversations."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.catalog.naming import names_product
from app.core.types import ChatMessage, Passage
from eval.metrics.facts import Fact, mentions
from eval.testset import must_mention_facts


@dataclass(frozen=True, slots=True)
class GoldQuestion:
    """One question of the test set and the product whose documentation answers it; for a
    conversation, `question` is its last user turn and `history` the turns before it."""

    product_name: str
    question: str
    section: str = ""
    history: tuple[ChatMessage, ...] = ()
    facts: tuple[Fact, ...] = ()

    @property
    def is_conversation(self) -> bool:
        return bool(self.history)


Search = Callable[[GoldQuestion, int], list[Passage]]
"""Retrieves the top k passages for an item (a conversation's follow-up resolved as it likes)."""


@dataclass(frozen=True, slots=True)
class Miss:
    """A question whose gold product was not among the retrieved products."""

    question: str
    product_name: str
    retrieved: list[str]


@dataclass(slots=True)
class FactCounts:
    """The `must_mention` facts of some items, and how many the retrieved passages state."""

    facts: int = 0
    in_first: int = 0
    in_top_k: int = 0

    def add(self, facts: Sequence[Fact], passages: Sequence[Passage]) -> None:
        self.facts += len(facts)
        for fact in facts:
            self.in_first += bool(passages) and mentions(passages[0].text, fact)
            self.in_top_k += any(mentions(passage.text, fact) for passage in passages)


@dataclass(slots=True)
class HitRateReport:
    """Hits of the gold product in the top k, and query latency over the same questions;
    conversations are counted on their own as well."""

    top_k: int
    questions: int = 0
    hits: int = 0
    conversations: int = 0
    conversation_hits: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    misses: list[Miss] = field(default_factory=list)
    question_facts: FactCounts = field(default_factory=FactCounts)
    conversation_facts: FactCounts = field(default_factory=FactCounts)

    @property
    def hit_rate(self) -> float:
        return self.hits / self.questions if self.questions else 0.0

    @property
    def conversation_hit_rate(self) -> float:
        return self.conversation_hits / self.conversations if self.conversations else 0.0

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.latencies_ms) if self.latencies_ms else 0.0

    @property
    def p95_ms(self) -> float:
        if len(self.latencies_ms) < 2:
            return self.p50_ms
        return statistics.quantiles(self.latencies_ms, n=20)[-1]


def _turns(record: dict[str, Any]) -> tuple[str, tuple[ChatMessage, ...]]:
    """The question and the turns before it: `question`, or `messages` ending with a user turn."""
    if "messages" not in record:
        return str(record["question"]), ()
    turns = [ChatMessage(turn["role"], str(turn["content"])) for turn in record["messages"]]
    if not turns or turns[-1].role != "user":
        raise ValueError(f"a conversation must end with a user turn: {record['messages']!r}")
    return turns[-1].content, tuple(turns[:-1])


def read_test_questions(path: Path) -> list[GoldQuestion]:
    """The test set: a JSON list of objects with product_name and question, or messages (a
    conversation ending with the user's question); section optional."""
    records = json.loads(path.read_text(encoding="utf-8"))
    questions = []
    for index, record in enumerate(records):
        question, history = _turns(record)
        questions.append(
            GoldQuestion(
                product_name=str(record["product_name"]),
                question=question,
                section=str(record.get("section", "")),
                history=history,
                facts=must_mention_facts(index, record.get("must_mention")),
            )
        )
    return questions


def measure_hit_rate(
    search: Search, questions: Sequence[GoldQuestion], top_k: int = 3
) -> HitRateReport:
    """Ask every item once; a hit is the gold product among the top_k passages' titles. The
    items' facts are looked for in the first passage and in all top_k."""
    report = HitRateReport(top_k=top_k)
    for item in questions:
        started = time.perf_counter()
        passages = search(item, top_k)
        report.latencies_ms.append((time.perf_counter() - started) * 1000)
        report.questions += 1
        report.conversations += item.is_conversation
        facts = report.conversation_facts if item.is_conversation else report.question_facts
        facts.add(item.facts, passages)
        titles = [passage.title for passage in passages]
        if any(names_product(title, item.product_name) for title in titles):
            report.hits += 1
            report.conversation_hits += item.is_conversation
        else:
            report.misses.append(Miss(item.question, item.product_name, titles))
    return report
