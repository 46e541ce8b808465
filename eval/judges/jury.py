"""Builds the jury from its settings and has every judge grade every answer on its own."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Hashable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
from tqdm import tqdm

from eval.judges.base import (
    REMINDER,
    Judge,
    ask_twice,
    grading_prompt,
    parse_verdict,
)
from eval.judges.bedrock import REFERENCE_JUDGE_MODELS, BedrockJudge, make_bedrock_client
from eval.judges.openai import OpenAICompatibleJudge, response_format
from eval.records import JudgementRecord, SampleRecord
from eval.settings import JudgeSettings
from eval.store import JsonlStore

logger = logging.getLogger(__name__)


class JurySpecError(ValueError):
    """A judge entry that is not `bedrock`, `bedrock=MODEL_ID` or `openai=MODEL@BASE_URL`."""


@dataclass
class Jury:
    """The judges and what they hold open (an executor for boto3, an HTTP pool)."""

    judges: list[Judge] = field(default_factory=list)
    executor: ThreadPoolExecutor | None = None
    http: httpx.AsyncClient | None = None

    async def aclose(self) -> None:
        if self.http is not None:
            await self.http.aclose()
        if self.executor is not None:
            self.executor.shutdown(wait=False)


def build_jury(settings: JudgeSettings, bedrock_client: Any = None) -> Jury:
    """One judge per entry; a bare `bedrock` means the reference's three Bedrock judges."""
    jury = Jury()
    for entry in settings.judges:
        kind, _, rest = entry.strip().partition("=")
        if kind == "bedrock":
            if jury.executor is None:
                jury.executor = ThreadPoolExecutor(settings.concurrency, "judge")
            if bedrock_client is None:
                bedrock_client = make_bedrock_client(
                    settings.region, settings.timeout_s, settings.concurrency
                )
            for model_id in [rest] if rest else REFERENCE_JUDGE_MODELS:
                jury.judges.append(
                    BedrockJudge(model_id, bedrock_client, jury.executor, settings.max_tokens)
                )
        elif kind == "openai" and "@" in rest:
            model, _, base_url = rest.partition("@")
            if jury.http is None:
                jury.http = httpx.AsyncClient(timeout=settings.timeout_s)
            jury.judges.append(
                OpenAICompatibleJudge(
                    model,
                    base_url,
                    jury.http,
                    settings.openai_api_key,
                    settings.max_tokens,
                    response_format=response_format(settings.openai_structured_output),
                )
            )
        else:
            raise JurySpecError(
                f"judge {entry!r}: use `bedrock`, `bedrock=MODEL_ID` or `openai=MODEL@BASE_URL`"
            )
    return jury


async def judge_one(judge: Judge, sample: SampleRecord) -> JudgementRecord:
    """Ask once; if the reply cannot be read, ask once more; never invent a score."""
    prompt = grading_prompt(sample.question, sample.ground_truth, sample.answer)
    asked = await ask_twice(judge, prompt, parse_verdict, REMINDER)
    verdict = asked.parsed
    if verdict is None:
        return JudgementRecord(
            key=sample.key,
            judge=judge.name,
            score=None,
            error=asked.error
            or "reply was not one JSON object of reasons and a score in [0, 1], twice",
            raw_reply=asked.last_reply[:2000],
            attempts=asked.attempts,
        )
    return JudgementRecord(
        key=sample.key,
        judge=judge.name,
        score=verdict.score,
        reason=verdict.reason,
        raw_reply=asked.last_reply[:2000],
        attempts=asked.attempts,
    )


def judgement_key(record: JudgementRecord) -> Hashable:
    return (record.key, record.judge)


async def judge_samples(
    samples: Sequence[SampleRecord],
    jury: Jury,
    store: JsonlStore[JudgementRecord],
    concurrency: int,
    show_progress: bool = True,
) -> int:
    """Grade each successful answer by each judge not yet done (failed ones are tried again)."""
    done = store.load()
    work = [
        (judge, sample)
        for sample in samples
        if sample.ok
        for judge in jury.judges
        if (previous := done.get((sample.key, judge.name))) is None or previous.score is None
    ]
    semaphore = asyncio.Semaphore(concurrency)
    with tqdm(total=len(work), desc="judgements", disable=not show_progress) as bar:

        async def one(judge: Judge, sample: SampleRecord) -> None:
            async with semaphore:
                record = await judge_one(judge, sample)
            await asyncio.to_thread(store.append, record)
            if record.score is None:
                logger.warning(
                    "judgement of %s by %s failed: %s", sample.key, judge.name, record.error
                )
            bar.update(1)

        await asyncio.gather(*(one(judge, sample) for judge, sample in work))
    return len(work)
