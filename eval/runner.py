"""`eval run`: answers, then BERTScore, then the jury, then the files; resumable at each step."""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from typing import Any

import httpx

from eval.client import ServiceClient
from eval.collect import collect_answers, pending_work
from eval.contract import ReadyResponse
from eval.finalize import Outputs, write_outputs
from eval.judges.jury import Jury, build_jury, judge_samples
from eval.judges.pairwise import judge_pairs
from eval.manifest import (
    file_digest,
    identity_changes,
    new_manifest,
    now,
    read_manifest,
    run_identity,
    write_manifest,
)
from eval.metrics.bertscore import resolve_backbone, score_samples
from eval.paths import RunFiles
from eval.settings import DEFAULT_STRATEGIES, EvalSettings
from eval.testset import load_testset

logger = logging.getLogger(__name__)


class RunConflict(RuntimeError):
    """The output folder holds another run, or a run its resume would not match."""


class UnknownStrategy(ValueError):
    """A strategy the service does not serve."""


def served_strategies(openapi: dict[str, Any] | None) -> list[str] | None:
    """Strategies the service answers on, in its order, read from its OpenAPI document: the
    one-segment paths whose POST answers with an object holding `strategy` and `answer`.
    None when the service publishes no document."""
    if openapi is None:
        return None
    schemas = openapi.get("components", {}).get("schemas", {})
    found: list[str] = []
    for path, operations in openapi.get("paths", {}).items():
        post = operations.get("post") if isinstance(operations, dict) else None
        name = path.strip("/")
        if not post or not name or "/" in name or "{" in name:
            continue
        content = post.get("responses", {}).get("200", {}).get("content", {})
        schema = content.get("application/json", {}).get("schema", {})
        reference = schema.get("$ref", "").rsplit("/", 1)[-1]
        properties = schemas.get(reference, schema).get("properties", {})
        if {"strategy", "answer"} <= set(properties):
            found.append(name)
    return found


def chosen_strategies(wanted: list[str], served: list[str] | None) -> list[str]:
    """The strategies asked for, checked against the service's; none asked for: all of the
    service's (the usual three when it publishes no OpenAPI document)."""
    if not wanted:
        return served or list(DEFAULT_STRATEGIES)
    unknown = [name for name in wanted if served is not None and name not in served]
    if unknown:
        raise UnknownStrategy(
            f"the service does not serve {', '.join(unknown)}; it serves "
            f"{', '.join(served or []) or 'no strategy'}"
        )
    return wanted


@dataclass(frozen=True, slots=True)
class RunOptions:
    resume: bool = False
    overwrite: bool = False
    force_resume: bool = False
    limit: int | None = None
    show_progress: bool = True
    transport: httpx.AsyncBaseTransport | None = None
    bedrock_client: Any = None


def _check_out(files: RunFiles, options: RunOptions) -> dict[str, Any] | None:
    resume = options.resume or options.force_resume
    if options.overwrite and not resume:
        for path in files.records():
            path.unlink(missing_ok=True)
    previous = read_manifest(files.manifest)
    if files.samples().exists() and not resume:
        raise RunConflict(
            f"{files.out} already holds a run: pass --resume to finish it, --overwrite to start "
            "again, or choose another --out"
        )
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


def _identity(
    settings: EvalSettings, testset_sha256: str, jury: Jury, ready: ReadyResponse
) -> dict[str, Any]:
    bertscore = (
        resolve_backbone(settings.bertscore).label if settings.bertscore.enabled else "disabled"
    )
    return run_identity(
        ready,
        testset_sha256,
        bertscore,
        [judge.name for judge in jury.judges],
        settings.jury.mode,
        settings.prices,
        settings.usage,
    )


def _manifest(
    settings: EvalSettings,
    options: RunOptions,
    questions: int,
    identity: dict[str, Any],
    previous: dict[str, Any] | None,
    ready: ReadyResponse,
) -> dict[str, Any]:
    """A new manifest, or the previous one extended when the run is resumed.

    A resume whose service, scorers, judges, prices or test set differ is refused with the
    list of what changed, unless forced; a forced resume is recorded with that list.
    """
    if not previous:
        return new_manifest(
            settings.url,
            settings.testset,
            questions,
            settings.strategies,
            identity,
            settings.prices,
            settings.usage,
            settings.repeat,
            ready,
        )
    changes = identity_changes(previous.get("identity", {}), identity)
    if changes and not options.force_resume:
        listed = "\n  ".join(changes)
        raise RunConflict(
            f"{settings.out} was run with something else; resuming would mix the two:\n  "
            f"{listed}\nchoose another --out, or pass --force-resume to mix them anyway"
        )
    manifest = dict(previous)
    manifest["resumed_at"] = [*previous.get("resumed_at", []), now()]
    if changes:
        forced = {"at": now(), "changes": changes, "identity": identity}
        manifest["forced_resumes"] = [*previous.get("forced_resumes", []), forced]
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
        if settings.jury.mode == "pairwise":
            await judge_pairs(
                samples,
                settings.strategies,
                jury,
                files.pairwise(),
                settings.jury.concurrency,
                options.show_progress,
            )
        else:
            await judge_samples(
                samples, jury, files.judgements(), settings.jury.concurrency, options.show_progress
            )
        seconds["judges_s"] = time.perf_counter() - started
    return seconds


async def run_evaluation(settings: EvalSettings, options: RunOptions | None = None) -> Outputs:
    options = options or RunOptions()
    questions = load_testset(settings.testset, options.limit)
    testset_sha256 = file_digest(settings.testset)
    files = RunFiles(settings.out)
    previous = _check_out(files, options)
    files.out.mkdir(parents=True, exist_ok=True)
    jury: Jury = build_jury(settings.jury, options.bedrock_client)
    try:
        async with _http_client(settings, options) as http:
            client = ServiceClient(http, settings.http)
            ready = await client.wait_ready()
            served = served_strategies(await client.openapi())
            strategies = chosen_strategies(settings.strategies, served)
            settings = settings.model_copy(update={"strategies": strategies})
            identity = _identity(settings, testset_sha256, jury, ready)
            manifest = _manifest(settings, options, len(questions), identity, previous, ready)
            write_manifest(files.manifest, manifest)
            store = files.samples()
            work = pending_work(questions, settings.strategies, store.load(), settings.repeat)
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
