"""`python -m tests.benchmarks.fact_recall`: the eval's `must_mention` fact recall of the
strategies' answers, and of the prompts they were given, for prompt and context settings.

In process on the real models (no HTTP, no BERTScore), so a configuration takes about two minutes a
strategy on two cores; the answers are the service's own (temperature 0, max_tokens 200, top_k 3,
as `make eval` asks). "Prompt recall" is the share of the facts present in the rendered prompt: what
the model could have copied. The gap between the two is the model's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from app.core.observability import Metrics
from app.core.types import ChatMessage
from app.generators.base import Generation, GenerationParams
from app.settings import PROJECT_ROOT, Settings
from app.strategies.runner import StrategyQuery, run_strategy
from app.wiring.compose import build_backends, compose
from eval.metrics.facts import check_facts
from eval.testset import EvalQuestion, load_testset

# The prompts and context of 30 Nov 2026 before the choice this benchmark made, and the defaults.
BEFORE: dict[str, Any] = {
    "prompts": {
        "rag": {
            "system": (
                "You are a product support assistant. Answer the customer's question using only "
                "the catalog excerpts given. Quote exact numbers, settings and codes. If the "
                "excerpts do not contain the answer, say you do not know."
            ),
            "user": "Catalog excerpts:\n{context}\n\nQuestion: {question}\nAnswer:",
        },
        "hybrid": {
            "system": (
                "You are a product support assistant trained on our manufacturing catalog. Use "
                "the catalog excerpts given and what you know of our products. Quote exact "
                "numbers, settings and codes."
            ),
            "user": "Catalog excerpts:\n{context}\n\nQuestion: {question}\nAnswer:",
        },
        "context_passage": "[{index}] {title} ({section}):\n{text}",
    },
    "context": {"one_product": False, "budget_tokens": 160},
    "local": {"repeat_penalty": 1.0},
}
CONFIGS: dict[str, dict[str, Any]] = {"before": BEFORE, "defaults": {}}


@dataclass
class PromptSeen:
    """A strategy observer keeping the last prompt of each strategy."""

    messages: dict[str, Sequence[ChatMessage]]

    def stage(self, strategy: str, stage: str, seconds: float) -> None:
        pass

    def prompt(self, strategy: str, messages: Sequence[ChatMessage]) -> None:
        self.messages[strategy] = messages

    def generated(self, strategy: str, generation: Generation) -> None:
        pass


async def recall(
    overrides: dict[str, Any], strategies: Sequence[str], questions: Sequence[EvalQuestion]
) -> dict[str, dict[str, float]]:
    settings = Settings(_env_file=None, **overrides)
    backends = build_backends(settings)
    seen = PromptSeen({})
    composition = compose(backends, settings, Metrics())
    params = GenerationParams(max_tokens=200, temperature=0.0)
    figures: dict[str, dict[str, float]] = {}
    try:
        for name in strategies:
            strategy = replace(composition.strategies[name], observer=seen)
            answers, prompts, complete, tokens = [], [], 0, []
            for question in questions:
                result = await run_strategy(strategy, StrategyQuery(question.question, 3, params))
                said = check_facts(result.generation.text, question.must_mention)
                given = check_facts(
                    "\n".join(m.content for m in seen.messages[name]), question.must_mention
                )
                if said is None or given is None:
                    continue
                answers.append(said.recall)
                prompts.append(given.recall)
                complete += said.recall == 1.0
                tokens.append(result.generation.usage.input_tokens)
            figures[name] = {
                "fact_recall": round(statistics.mean(answers), 3),
                "prompt_recall": round(statistics.mean(prompts), 3),
                "all_facts": complete,
                "questions": len(answers),
                "prompt_tokens_p50": statistics.median(tokens),
            }
    finally:
        await backends.aclose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--configs", default="before,defaults", help=", ".join(CONFIGS))
    parser.add_argument("--strategies", default="rag,hybrid")
    parser.add_argument("--limit", type=int, default=None, help="first N test questions")
    arguments = parser.parse_args()
    questions = load_testset(PROJECT_ROOT / "data" / "test" / "test.json", arguments.limit)
    for name in arguments.configs.split(","):
        figures = asyncio.run(recall(CONFIGS[name], arguments.strategies.split(","), questions))
        for strategy, row in figures.items():
            print(name, strategy, json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
