"""(4) Local generation: time to first token and tokens per second of the embedded models."""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass

from app.catalog import ChunkSizes, chunk_catalog
from app.generators.base import GenerationParams, TextDelta
from app.generators.local import AdapterMissing, LocalLlamaGenerator, build_local_generator
from app.retrievers.base import Passage
from app.settings import Settings
from app.strategies.prompts import templates_from_settings
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
    output_tokens: int
    decode_s: float


async def _timed_stream(
    generator: LocalLlamaGenerator, settings: Settings, run: int
) -> StreamTiming:
    # New passages and a new question each run, as in real traffic: llama.cpp reuses the cached
    # prefix of a repeated prompt, which would make the first token look nearly free.
    passages = CATALOG_PASSAGES[3 * run : 3 * run + 3]
    question = QUESTIONS[run % len(QUESTIONS)]
    messages = templates_from_settings(settings.prompts)["rag"].render(question, passages)
    started = time.perf_counter()
    first: float | None = None
    output_tokens = 0
    async for event in generator.stream(messages, PARAMS):
        if isinstance(event, TextDelta):
            first = first if first is not None else time.perf_counter()
        else:
            output_tokens = event.usage.output_tokens
    finished = time.perf_counter()
    first = first if first is not None else finished
    return StreamTiming(first - started, output_tokens, finished - first)


async def _measure(
    generator: LocalLlamaGenerator, settings: Settings, runs: int
) -> list[StreamTiming]:
    await _timed_stream(generator, settings, 0)  # warm-up: the first call maps the weights in
    timings = [await _timed_stream(generator, settings, run) for run in range(1, runs + 1)]
    await generator.aclose()
    return timings


def _rows(role: str, load_s: float, timings: list[StreamTiming]) -> list[Measurement]:
    ttft = statistics.median(timing.first_token_s for timing in timings)
    # The first token comes with the prompt's evaluation; the rest are decoded one by one.
    decoded = sum(max(0, timing.output_tokens - 1) for timing in timings)
    decode_s = sum(timing.decode_s for timing in timings)
    rate = decoded / decode_s if decode_s else float("nan")
    return [
        Measurement(NAME, f"{role} model load", load_s, "s"),
        Measurement(
            NAME, f"{role} time to first token p50", ttft * 1000, "ms", "< 1000 ms", ttft < 1
        ),
        Measurement(NAME, f"{role} decode", rate, "tokens/s"),
    ]


def run(quick: bool) -> list[Measurement]:
    settings = Settings(_env_file=None)
    runs = 2 if quick else 5
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
        rows += _rows(role, load_s, asyncio.run(_measure(generator, settings, runs)))
    return rows
