"""The runner against the real app on fake backends, in process."""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import json
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from app.core.errors import BackendError, BackendUnavailable
from eval.cli import main
from eval.client import ServiceClient
from eval.collect import collect_answers, pending_work
from eval.paths import RunFiles
from eval.records import SampleRecord
from eval.runner import RunConflict, RunOptions, run_evaluation
from eval.settings import EvalSettings, HttpSettings
from eval.store import JsonlStore
from eval.testset import load_testset

from .conftest import PASSAGES, QUESTIONS, asgi, fake_app

SettingsFactory = Callable[..., EvalSettings]


def read_csv(path: Path) -> dict[str, dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return {row["method"]: row for row in csv.DictReader(handle)}


async def test_full_run_writes_every_output(make_settings: SettingsFactory) -> None:
    settings = make_settings()
    outputs = await run_evaluation(
        settings, RunOptions(show_progress=False, transport=asgi(fake_app()))
    )

    out = settings.out
    for strategy in ("rag", "finetuned", "hybrid"):
        entries = json.loads((out / f"{strategy}_results.json").read_text())
        assert len(entries) == len(QUESTIONS)
        assert {e["input_text"] for e in entries} == {q["question"] for q in QUESTIONS}
        assert all(e["llm_response"] and e["inference_time"] > 0 for e in entries)
    rag = json.loads((out / "rag_results.json").read_text())
    assert all(entry["gold_product_retrieved"] is True for entry in rag)
    assert all(entry["context"].startswith("Document 1:") for entry in rag)

    summary = read_csv(out / "summary_results.csv")
    assert set(summary) == {"rag", "finetuned", "hybrid"}
    assert summary["rag"]["samples"] == str(len(QUESTIONS))
    assert summary["rag"]["failed"] == "0"
    assert float(summary["rag"]["monthly_cost_usd"]) == pytest.approx(548.4, rel=0.01)
    assert summary["rag"]["avg_llm_evaluator_score"] == ""  # no judge: no score, not a zero
    assert summary["rag"]["judge_coverage"] == "" and summary["rag"]["judged"] == ""

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["backends"]["models"] == {"base": "fake-model", "tuned": "fake-tuned"}
    assert len(manifest["testset_sha256"]) == 64
    assert manifest["finished_at"]

    report = (out / "report.html").read_text()
    assert "No judge configured" in report
    assert "<svg" in report
    assert 'src="http' not in report and 'href="http' not in report  # self-contained
    assert outputs.analysis.strategies[0].gold_hit_rate == 1.0
    # RAG repeats the passage, which states the fact; the tuned fake says "100 units".
    assert summary["rag"]["fact_recall"] == "1.0" and summary["rag"]["fact_questions"] == "6"
    assert summary["finetuned"]["fact_recall"] == "0.0"
    assert "fact recall" in report and "Read this first" in report  # the no-judge banner


async def test_each_answer_says_why_it_ended_and_the_summary_counts_those_cut_short(
    make_settings: SettingsFactory,
) -> None:
    settings = make_settings()
    app = fake_app(tuned_finish_reason="length")  # the tuned model runs to max_tokens
    await run_evaluation(settings, RunOptions(show_progress=False, transport=asgi(app)))

    lines = (settings.out / "samples.jsonl").read_text().splitlines()
    endings = {(s["strategy"], s["finish_reason"]) for s in map(json.loads, lines)}
    assert endings == {("rag", "stop"), ("finetuned", "length"), ("hybrid", "length")}
    summary = read_csv(settings.out / "summary_results.csv")
    assert summary["finetuned"]["max_tokens_rate"] == "1.0"
    assert summary["rag"]["max_tokens_rate"] == "0.0"
    assert summary["rag"]["repetition_rate"] == "0.0"


async def test_untuned_model_and_unknown_gold_hit_rate_are_said(
    make_settings: SettingsFactory,
) -> None:
    unnamed = [
        dataclasses.replace(p, title="catalog.txt", location="catalog.txt#1") for p in PASSAGES
    ]
    app = fake_app(tuned_model_id="fake-model (untuned)", passages=unnamed)
    settings = make_settings()
    outputs = await run_evaluation(settings, RunOptions(show_progress=False, transport=asgi(app)))

    assert outputs.analysis.gold_unknown
    summary = read_csv(settings.out / "summary_results.csv")
    assert summary["rag"]["gold_product_hit_rate"] == ""  # unknown, not 0.00
    assert summary["finetuned"]["untuned_model"] == "True"
    assert summary["rag"]["untuned_model"] == "False"
    banner = (settings.out / "report.html").read_text().split("Read this first")[1]
    banner = banner.split("</section>")[0]
    assert "finetuned ran an untuned model" in banner and "hybrid ran an untuned model" in banner
    assert "Gold product hit rate unknown" in banner
    summary_table = (settings.out / "report.html").read_text().split("<h2>Summary")[1]
    rag_row = summary_table.split("<tr><td>rag</td>")[1].split("</tr>")[0]
    finetuned_row = summary_table.split("<tr><td>finetuned (untuned model)</td>")[1]
    assert "<td>unknown</td>" in rag_row  # retrieves, products not recognised
    assert "<td>unknown</td>" not in finetuned_row.split("</tr>")[0]  # retrieves nothing: n/a


def test_facts_command_prints_recall_and_misses(
    make_settings: SettingsFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = make_settings()
    asyncio.run(
        run_evaluation(settings, RunOptions(show_progress=False, transport=asgi(fake_app())))
    )
    capsys.readouterr()
    assert main(["facts", "--out", str(settings.out), "--misses"]) == 0
    printed = capsys.readouterr().out
    table = printed.split("\n\n")[1]  # header, table, misses
    rows = {line.split()[0]: line for line in table.splitlines()}
    assert "1.000 [1.000, 1.000]" in rows["rag"] and rows["rag"].endswith("6/6")
    assert "0.000 [0.000, 0.000]" in rows["finetuned"] and rows["finetuned"].endswith("0/6")
    assert "missing: 210 bar" in printed and "missing: 400 V" in printed
    # Where each was lost: hybrid retrieved the passage and did not state it.
    assert "hybrid     q0   missing: 210 bar (retrieved, not stated)" in printed
    assert "finetuned  q0   missing: 210 bar (not stated, no retrieval)" in printed


async def test_failed_samples_are_recorded_and_counted(make_settings: SettingsFactory) -> None:
    # The tuned generator fails on every call: finetuned and hybrid answer nothing.
    app = fake_app(tuned_failures=lambda call: BackendError("model returned garbage"))
    settings = make_settings()
    outputs = await run_evaluation(settings, RunOptions(show_progress=False, transport=asgi(app)))

    summary = read_csv(settings.out / "summary_results.csv")
    assert summary["rag"]["failed"] == "0"
    assert summary["finetuned"]["failed"] == str(len(QUESTIONS))
    failed = json.loads((settings.out / "hybrid_results.json").read_text())
    # 502 from the backend, or 503 once the service's circuit breaker stops calling it.
    assert all(not entry["ok"] and entry["error"].startswith("HTTP 50") for entry in failed)
    assert len(outputs.analysis.failed_samples) == 2 * len(QUESTIONS)
    report = (settings.out / "report.html").read_text()
    assert f"Failed samples ({2 * len(QUESTIONS)})" in report
    assert "excluded from the quality figures" in report


async def test_unavailable_backend_is_retried(make_settings: SettingsFactory) -> None:
    # The first two calls of the base generator fail with a 503; retries get answers.
    app = fake_app(base_failures=lambda call: BackendUnavailable("busy") if call < 2 else None)
    settings = make_settings(strategies=["rag"])
    await run_evaluation(settings, RunOptions(show_progress=False, transport=asgi(app)))

    entries = json.loads((settings.out / "rag_results.json").read_text())
    assert all(entry["ok"] for entry in entries)
    assert sorted(entry["attempts"] for entry in entries)[-1] >= 2


async def test_service_rate_limit_is_waited_out_not_failed(
    make_settings: SettingsFactory,
) -> None:
    # 10 requests a second, 2 at once: 18 samples sent 6 at a time must hear 429 and wait.
    app = fake_app(rate_limit_per_minute=600, burst=2)
    settings = make_settings()
    settings = settings.model_copy(
        update={"http": settings.http.model_copy(update={"concurrency": 6, "max_attempts": 1})}
    )
    await run_evaluation(settings, RunOptions(show_progress=False, transport=asgi(app)))

    samples = [
        json.loads(line) for line in (settings.out / "samples.jsonl").read_text().splitlines()
    ]
    assert all(sample["ok"] for sample in samples)
    assert sum(sample["throttled"] for sample in samples) > 0


async def test_requests_run_concurrently(testset: Path, tmp_path: Path) -> None:
    http_settings = HttpSettings(concurrency=6)
    questions = load_testset(testset)
    store = JsonlStore(tmp_path / "samples.jsonl", SampleRecord, lambda record: record.key)
    transport = asgi(fake_app(delay_s=0.1))
    async with httpx.AsyncClient(transport=transport, base_url="http://service.test") as http:
        client = ServiceClient(http, http_settings)
        work = pending_work(questions, ["rag", "finetuned", "hybrid"], {})
        started = time.perf_counter()
        totals = await collect_answers(client, store, work, 6, show_progress=False)
        wall = time.perf_counter() - started
    samples = store.load().values()
    one_after_another = sum((sample.latency_ms or 0) for sample in samples) / 1000.0
    assert totals.failures == 0 and len(samples) == 3 * len(QUESTIONS)
    assert all((sample.latency_ms or 0) >= 100 for sample in samples)  # each waited 0.1 s
    assert wall < one_after_another / 2


async def test_existing_run_is_kept_unless_overwrite_is_asked(
    make_settings: SettingsFactory,
) -> None:
    settings = make_settings(strategies=["finetuned"])
    options = RunOptions(show_progress=False, transport=asgi(fake_app()))
    await run_evaluation(settings, options)
    with pytest.raises(RunConflict):
        await run_evaluation(settings, options)

    fresh = RunOptions(overwrite=True, show_progress=False, transport=asgi(fake_app()))
    await run_evaluation(settings, fresh)
    lines = (settings.out / "samples.jsonl").read_text().splitlines()
    assert len(lines) == len(QUESTIONS)  # the first run's records are gone, not appended to


def numbered_testset(path: Path, count: int) -> Path:
    questions = [
        {"question": f"What is the rated pressure of unit {n}?", "answer": "210 bar."}
        for n in range(count)
    ]
    path.write_text(json.dumps(questions), encoding="utf-8")
    return path


async def test_a_strategy_failing_one_time_in_five_shows_it_in_latency_and_failures(
    make_settings: SettingsFactory, tmp_path: Path
) -> None:
    # The tuned generator takes 0.2 s and fails every fifth call, only after that time.
    app = fake_app(
        delay_s=0.2,
        tuned_failures=lambda call: BackendError("garbage") if call % 5 == 4 else None,
    )
    settings = make_settings(
        strategies=["rag", "finetuned"], testset=numbered_testset(tmp_path / "t.json", 10)
    )
    settings = settings.model_copy(
        update={"http": settings.http.model_copy(update={"max_attempts": 1, "concurrency": 1})}
    )
    outputs = await run_evaluation(settings, RunOptions(show_progress=False, transport=asgi(app)))

    figures = {f.strategy: f for f in outputs.analysis.strategies}
    assert figures["finetuned"].failure_rate == pytest.approx(0.2)
    assert figures["rag"].failure_rate == 0.0
    assert len(figures["finetuned"].values["latency_s"]) == 10  # the failures are in it
    assert len(figures["finetuned"].values["latency_ok_s"]) == 8
    assert min(figures["finetuned"].values["latency_s"].values()) >= 0.2
    summary = read_csv(settings.out / "summary_results.csv")
    assert summary["finetuned"]["failure_rate"] == "0.2"
    assert summary["finetuned"]["failed"] == "2"
    report = (settings.out / "report.html").read_text()
    assert "finetuned: 20% of requests failed" in report
    latency_table = report.split("<h2>Latency</h2>")[1].split("</table>")[0]
    assert "<td>20%</td>" in latency_table


async def test_a_retried_answer_is_as_slow_as_all_its_attempts(
    make_settings: SettingsFactory, tmp_path: Path
) -> None:
    app = fake_app(
        delay_s=0.15,
        tuned_failures=lambda call: BackendUnavailable("busy") if call % 5 == 4 else None,
    )
    settings = make_settings(
        strategies=["finetuned"], testset=numbered_testset(tmp_path / "t.json", 10)
    )
    settings = settings.model_copy(
        update={"http": settings.http.model_copy(update={"concurrency": 1})}
    )
    outputs = await run_evaluation(settings, RunOptions(show_progress=False, transport=asgi(app)))

    figures = outputs.analysis.strategies[0]
    assert figures.failure_rate == 0.0 and figures.retry_rate == pytest.approx(0.2)
    retried = [s for s in RunFiles(settings.out).samples().load().values() if s.attempts > 1]
    assert len(retried) == 2
    for sample in retried:
        assert sample.outcome_ms >= (sample.latency_ms or 0) + 140  # the failed attempt too
    assert figures.intervals["latency_s"].mean > figures.intervals["latency_ok_s"].mean
