"""(4) Local generation: time to first token and tokens per second of the embedded models, with
three whole passages in the prompt and with the sentences context selection keeps of them."""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass

from app.catalog import ChunkSizes, chunk_catalog
from app.context import ContextPolicy, build_context_policy, build_span_ranker
from app.context.ranking import SpanRanker
from app.core.embeddings import load_embedder
from app.core.types import Passage
from app.generators.base import GenerationParams, TextDelta
from app.generators.local import AdapterMissing, LocalLlamaGenerator, build_local_generator
from app.settings import Settings
from app.strategies.templates import templates_from_settings
from tests.benchmarks.results import Measurement

NAME = "generation"
QUESTIONS = (
    "What hydraulic pressure does the press run at, and how heavy is it?",
    "Which wire feed speed suits 1 mm steel on the welder?",
    "How often should the press's return filter be replaced?",
    "What does fault code E-21 mean?",
    "Which PPE is required at the press?",
    "What is the welder's duty cycle at 350 A?",
)
PARAMS = GenerationParams(max_tokens=128, temperature=0.0)
_DEFAULTS = Settings(_env_file=None)
# Real catalog chunks of the default size: a RAG prompt of the length the service sends.
CATALOG_PASSAGES = [
    Passage(chunk.id, chunk.product, chunk.text, 1.0, chunk.location, chunk.section)
    for chunk in chunk_catalog(_DEFAULTS.catalog, ChunkSizes.of(_DEFAULTS), _DEFAULTS.documents)
]


@dataclass(frozen=True, slots=True)
class StreamTiming:
    first_token_s: float
    input_tokens: int
    output_tokens: int
    decode_s: float


async def _timed_stream(
    generator: LocalLlamaGenerator, settings: Settings, run: int, policy: ContextPolicy | None
) -> StreamTiming:
    # New passages and a new question each run, as in real traffic: llama.cpp reuses the cached
    # prefix of a repeated prompt, which would make the first token look nearly free.
    passages = CATALOG_PASSAGES[3 * run : 3 * run + 3]
    question = QUESTIONS[run % len(QUESTIONS)]
    template = templates_from_settings(settings.prompts)["rag"]
    if policy is None:
        messages = template.render(question, passages)
    else:
        prepared = await policy.prepare(template, question, passages, PARAMS.max_tokens)
        messages = prepared.messages
    started = time.perf_counter()
    first: float | None = None
    input_tokens = output_tokens = 0
    async for event in generator.stream(messages, PARAMS):
        if isinstance(event, TextDelta):
            first = first if first is not None else time.perf_counter()
        else:
            input_tokens, output_tokens = event.usage.input_tokens, event.usage.output_tokens
    finished = time.perf_counter()
    first = first if first is not None else finished
    return StreamTiming(first - started, input_tokens, output_tokens, finished - first)


async def _measure(
    generator: LocalLlamaGenerator, settings: Settings, runs: int, policy: ContextPolicy | None
) -> list[StreamTiming]:
    # Warm-up: the first call maps the weights in and evaluates the system prompt once.
    await _timed_stream(generator, settings, 0, policy)
    return [await _timed_stream(generator, settings, run, policy) for run in range(1, runs + 1)]


def _rows(role: str, prompt: str, timings: list[StreamTiming]) -> list[Measurement]:
    ttft = statistics.median(timing.first_token_s for timing in timings)
    tokens = statistics.median(timing.input_tokens for timing in timings)
    # The first token comes with the prompt's evaluation; the rest are decoded one by one.
    decoded = sum(max(0, timing.output_tokens - 1) for timing in timings)
    decode_s = sum(timing.decode_s for timing in timings)
    rate = decoded / decode_s if decode_s else float("nan")
    label = f"{role}, {prompt}"
    return [
        Measurement(NAME, f"{label}: prompt tokens p50", tokens, "tokens"),
        Measurement(
            NAME, f"{label}: time to first token p50", ttft * 1000, "ms", "< 1000 ms", ttft < 1
        ),
        Measurement(NAME, f"{label}: decode", rate, "tokens/s"),
    ]


async def _both_prompts(
    generator: LocalLlamaGenerator, settings: Settings, runs: int, ranker: SpanRanker | None
) -> list[tuple[str, list[StreamTiming]]]:
    policy = build_context_policy(settings.context, generator, ranker)
    try:
        return [
            ("3 whole passages", await _measure(generator, settings, runs, None)),
            ("selected sentences", await _measure(generator, settings, runs, policy)),
        ]
    finally:
        await generator.aclose()


def run(quick: bool) -> list[Measurement]:
    settings = Settings(_env_file=None)
    runs = 2 if quick else 5
    ranker = build_span_ranker(settings.context, load_embedder(settings))
    rows: list[Measurement] = []
    for role in ("base", "tuned"):
        started = time.perf_counter()
        try:
            generator = build_local_generator(settings, role)
        except AdapterMissing:
            rows.append(
                Measurement(NAME, f"{role} time to first token p50", None, "ms", "< 1000 ms",
                            note="no adapter: run `make finetune`")
            )  # fmt: skip
            continue
        load_s = time.perf_counter() - started
        rows.append(Measurement(NAME, f"{role} model load", load_s, "s"))
        for prompt, timings in asyncio.run(_both_prompts(generator, settings, runs, ranker)):
            rows += _rows(role, prompt, timings)
    return rows
