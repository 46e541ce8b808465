"""An interrupted run resumes where it stopped: nothing finished is lost or asked twice."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi import FastAPI

from eval.cli import main
from eval.runner import RunConflict, RunOptions, run_evaluation
from eval.settings import PROJECT_ROOT, EvalSettings

from .conftest import QUESTIONS, asgi, fake_app

STRATEGY_COUNT = 3


def sample_lines(out: Path) -> list[dict[str, object]]:
    path = out / "samples.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a line torn by the kill
    return parsed


def assert_complete_without_duplicates(out: Path) -> list[dict[str, object]]:
    lines = sample_lines(out)
    ok_keys = Counter(line["key"] for line in lines if line["ok"])
    assert len(ok_keys) == len(QUESTIONS) * STRATEGY_COUNT
    assert set(ok_keys.values()) == {1}, "a finished sample was asked again"
    return lines


def test_run_killed_half_way_resumes(
    live_server: Callable[[FastAPI], str], testset: Path, tmp_path: Path
) -> None:
    url = live_server(fake_app(delay_s=0.15))
    out = tmp_path / "run"
    command = [
        sys.executable, "-m", "eval", "run", "--url", url, "--testset", str(testset),
        "--out", str(out), "--concurrency", "2", "--no-bertscore", "--no-progress",
    ]  # fmt: skip
    environment = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    first = subprocess.Popen(command, cwd=PROJECT_ROOT, env=environment)
    deadline = time.monotonic() + 30
    while len(sample_lines(out)) < 6:
        assert first.poll() is None, "the run ended before it could be interrupted"
        assert time.monotonic() < deadline, "no samples were written"
        time.sleep(0.02)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    before = {line["key"]: line["request_id"] for line in sample_lines(out) if line["ok"]}
    assert 0 < len(before) < len(QUESTIONS) * STRATEGY_COUNT

    resumed = subprocess.run([*command, "--resume"], cwd=PROJECT_ROOT, env=environment, timeout=60)

    assert resumed.returncode == 0
    lines = assert_complete_without_duplicates(out)
    after = {line["key"]: line["request_id"] for line in lines if line["ok"]}
    assert {key: after[key] for key in before} == before, "answers from before the kill changed"
    for strategy in ("rag", "finetuned", "hybrid"):
        entries = json.loads((out / f"{strategy}_results.json").read_text())
        assert len(entries) == len(QUESTIONS)


async def test_cancelled_run_resumes(make_settings: Callable[..., EvalSettings]) -> None:
    settings = make_settings()
    settings = settings.model_copy(
        update={"http": settings.http.model_copy(update={"concurrency": 2})}
    )
    app = fake_app(delay_s=0.05)
    task = asyncio.create_task(
        run_evaluation(settings, RunOptions(show_progress=False, transport=asgi(app)))
    )
    while len(sample_lines(settings.out)) < 4:
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(sample_lines(settings.out)) < len(QUESTIONS) * STRATEGY_COUNT

    await run_evaluation(
        settings, RunOptions(resume=True, show_progress=False, transport=asgi(app))
    )
    assert_complete_without_duplicates(settings.out)
    manifest = json.loads((settings.out / "manifest.json").read_text())
    assert len(manifest["resumed_at"]) == 1


def test_resume_against_a_service_whose_model_changed_is_refused(
    live_server: Callable[[FastAPI], str],
    testset: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "run"
    arguments = [
        "run", "--testset", str(testset), "--out", str(out), "--no-bertscore", "--no-progress",
    ]  # fmt: skip
    first = live_server(fake_app())
    assert main([*arguments, "--url", first, "--limit", "2"]) == 0
    before = (out / "samples.jsonl").read_text()

    retrained = live_server(fake_app(tuned_model_id="fake-tuned-v2"))
    assert main([*arguments, "--url", retrained, "--resume"]) == 2

    message = capsys.readouterr().err
    assert "resuming would mix the two" in message
    assert "backends.models.tuned: 'fake-tuned' -> 'fake-tuned-v2'" in message
    assert "--force-resume" in message
    assert (out / "samples.jsonl").read_text() == before, "nothing was added to the old run"


async def test_forced_resume_is_recorded_with_what_changed(
    make_settings: Callable[..., EvalSettings],
) -> None:
    settings = make_settings(strategies=["rag"])
    await run_evaluation(settings, RunOptions(show_progress=False, transport=asgi(fake_app())))
    changed = asgi(fake_app(tuned_model_id="fake-tuned-v2"))
    await run_evaluation(
        settings, RunOptions(force_resume=True, show_progress=False, transport=changed)
    )
    manifest = json.loads((settings.out / "manifest.json").read_text())
    (forced,) = manifest["forced_resumes"]
    assert forced["changes"] == ["backends.models.tuned: 'fake-tuned' -> 'fake-tuned-v2'"]
    # The run's own identity stays the one its first samples were taken with.
    assert manifest["identity"]["backends"]["models"]["tuned"] == "fake-tuned"
    assert not list(settings.out.glob(".*.tmp")), "an atomic write left its temporary file"


async def test_resume_with_another_scorer_or_price_table_is_refused(
    make_settings: Callable[..., EvalSettings], tmp_path: Path
) -> None:
    settings = make_settings(strategies=["rag"])
    await run_evaluation(settings, RunOptions(show_progress=False, transport=asgi(fake_app())))
    prices = tmp_path / "prices.json"
    prices.write_text(settings.prices.read_text().replace("0.24", "0.25"))
    other_bert = settings.bertscore.model_copy(update={"enabled": True, "model": "roberta-large"})
    changed = settings.model_copy(update={"prices": prices, "bertscore": other_bert})
    with pytest.raises(RunConflict) as refused:
        await run_evaluation(
            changed, RunOptions(resume=True, show_progress=False, transport=asgi(fake_app()))
        )
    assert "bertscore: 'disabled' -> 'roberta-large'" in str(refused.value)
    assert "prices_sha256" in str(refused.value)
