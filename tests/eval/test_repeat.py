"""`run --repeat N`: every question asked N times, intervals over questions, spread reported."""

from __future__ import annotations

import csv
import json
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from fastapi import FastAPI

from app.core.types import ChatMessage
from eval.cli import main
from eval.paths import RunFiles

from .conftest import QUESTIONS, echo_context, fake_app


class Alternating:
    """Answers a prompt well the first time it sees it, badly the second, and so on: the
    answers to one question vary from asking to asking, as sampled answers do."""

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}
        self.lock = threading.Lock()

    def __call__(self, messages: Sequence[ChatMessage]) -> str:
        with self.lock:
            count = self.seen.get(messages[-1].content, 0)
            self.seen[messages[-1].content] = count + 1
        return echo_context(messages) if count % 2 == 0 else "I am not sure about that."


def test_repeat_asks_each_question_n_times_and_reports_the_spread(
    live_server: Callable[[FastAPI], str], testset: Path, tmp_path: Path
) -> None:
    url = live_server(fake_app(base_answer=Alternating()))
    out = tmp_path / "out"
    arguments = ["run", "--url", url, "--testset", str(testset), "--out", str(out)]
    assert main([*arguments, "--repeat", "3", "--no-bertscore", "--no-progress"]) == 0

    samples = list(RunFiles(out).samples().load().values())
    assert len(samples) == len(QUESTIONS) * 3 * 3  # questions x strategies x askings
    rag = [s for s in samples if s.strategy == "rag"]
    assert sorted({s.repeat for s in rag}) == [0, 1, 2]
    # Each question: good, bad, good (in some order), so fact recall 2/3 per question.
    with (out / "summary_results.csv").open(encoding="utf-8") as handle:
        summary = {row["method"]: row for row in csv.DictReader(handle)}
    assert float(summary["rag"]["fact_recall"]) == 0.6667
    assert summary["rag"]["repeats"] == "3" and summary["rag"]["samples"] == "18"
    assert summary["rag"]["fact_questions"] == str(len(QUESTIONS))  # resampled: questions
    spreads = json.loads((out / "summary_results.json").read_text())["strategies"]
    rag_spread = next(s for s in spreads if s["method"] == "rag")["within_question_sd"]
    assert rag_spread["fact_recall"] > 0.5  # stdev of (1, 0, 1)
    finetuned = next(s for s in spreads if s["method"] == "finetuned")["within_question_sd"]
    assert finetuned["fact_recall"] == 0  # the tuned fake always says the same
    report = (out / "report.html").read_text()
    assert "asked 3 times per strategy" in report and "within-question SD" in report

    # Resuming with a higher --repeat asks only the new askings.
    assert main([*arguments, "--repeat", "4", "--resume", "--no-bertscore", "--no-progress"]) == 0
    samples = list(RunFiles(out).samples().load().values())
    assert len(samples) == len(QUESTIONS) * 3 * 4
