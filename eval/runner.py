"""`eval run`: answers, then BERTScore, then the jury, then the files; resumable at each step."""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from typing import Any

import httpx

from app.backends.bundled_models import file_sha256
from app.http.schemas import ReadyResponse
from eval.client import ServiceClient
from eval.collect import collect_answers, pending_work
from eval.finalize import Outputs, write_outputs
from eval.judges.jury import Jury, build_jury, judge_samples
from eval.manifest import new_manifest, now, read_manifest
from eval.metrics.bertscore import score_samples
from eval.outputs import write_json
from eval.paths import RunFiles
from eval.settings import EvalSettings
from eval.testset import load_testset

logger = logging.getLogger(__name__)


class RunConflict(RuntimeError):
    """The output folder holds another run (or a different test set) and --resume was not given."""


@dataclass(frozen=True, slots=True)
class RunOptions:
    resume: bool = False
    overwrite: bool = False
    limit: int | None = None
    show_progress: bool = True
    transport: httpx.AsyncBaseTransport | None = None
    bedrock_client: Any = None


def _check_out(files: RunFiles, options: RunOptions, testset_sha256: str) -> dict[str, Any] | None:
    resume = options.resume
    if options.overwrite and not resume:
        for path in files.records():
            path.unlink(missing_ok=True)
    previous = read_manifest(files.manifest)
    if files.samples().exists() and not resume:
        raise RunConflict(
            f"{files.out} already holds a run: pass --resume to finish it, --overwrite to start "
            "again, or choose another --out"
        )
    if resume and previous and previous.get("testset_sha256") != testset_sha256:
        raise RunConflict(f"{files.out} was run on a different test set; choose another --out")
    return previous if resume else None


def _http_client(settings: EvalSettings, options: RunOptions) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {settings.http.api_key}"} if settings.http.api_key else {}
    connections = settings.http.concurrency + 4
    return httpx.AsyncClient(
        base_url=settings.url,
        timeout=httpx.Timeout(settings.http.timeout_s, connect=min(10.0, settings.http.timeout_s)),
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        headers=headers,
        transport=options.transport,
    )


def _manifest(
    settings: EvalSettings,
    testset_sha256: str,
    questions: int,
    jury: Jury,
    ready: ReadyResponse,
    previous: dict[str, Any] | None,
) -> dict[str, Any]:
    manifest = new_manifest(
        settings.url,
        settings.testset,
        testset_sha256,
        questions,
        settings.strategies,
        [judge.name for judge in jury.judges],
        settings.bertscore.model if settings.bertscore.enabled else "disabled",
        ready,
    )
    if previous:
        manifest["started_at"] = previous.get("started_at", manifest["started_at"])
        manifest["resumed_at"] = [*previous.get("resumed_at", []), now()]
    return manifest


async def _score_and_judge(
    settings: EvalSettings, options: RunOptions, files: RunFiles, jury: Jury
) -> dict[str, float]:
    """BERTScore, then the jury, on every successful answer not yet scored; seconds of each."""
    seconds: dict[str, float] = {}
    samples = list(files.samples().load().values())
    if settings.bertscore.enabled:
        started = time.perf_counter()
        await score_samples(samples, files.bertscores(), settings.bertscore)
        seconds["bertscore_s"] = time.perf_counter() - started
    if jury.judges:
        started = time.perf_counter()
        await judge_samples(
            samples, jury, files.judgements(), settings.jury.concurrency, options.show_progress
        )
        seconds["judges_s"] = time.perf_counter() - started
    return seconds


async def run_evaluation(settings: EvalSettings, options: RunOptions | None = None) -> Outputs:
    options = options or RunOptions()
    questions = load_testset(settings.testset, options.limit)
    testset_sha256 = file_sha256(settings.testset)
    files = RunFiles(settings.out)
    previous = _check_out(files, options, testset_sha256)
    files.out.mkdir(parents=True, exist_ok=True)
    jury: Jury = build_jury(settings.jury, options.bedrock_client)
    try:
        async with _http_client(settings, options) as http:
            client = ServiceClient(http, settings.http)
            ready = await client.wait_ready()
            manifest = _manifest(settings, testset_sha256, len(questions), jury, ready, previous)
            write_json(files.manifest, manifest)
            store = files.samples()
            work = pending_work(questions, settings.strategies, store.load())
            logger.info("%d answers to collect (%d questions)", len(work), len(questions))
            totals = await collect_answers(
                client, store, work, settings.http.concurrency, options.show_progress
            )
        seconds = await _score_and_judge(settings, options, files, jury)
    finally:
        await jury.aclose()
    # This session only: a resumed run reports the part it did.
    manifest["last_session"] = {**asdict(totals), **seconds}
    return write_outputs(files, settings, manifest)
