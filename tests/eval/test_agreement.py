"""Judges against people: rank correlation and mean absolute difference from --labels."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import pytest

from eval.agreement import JURY, LabelsError, load_labels, spearman
from eval.cli import main
from eval.paths import RunFiles
from eval.records import JudgementRecord
from eval.runner import RunOptions, run_evaluation
from eval.settings import EvalSettings

from .conftest import asgi, fake_app


def test_spearman_on_ranks_with_ties() -> None:
    assert spearman([0.1, 0.5, 0.9], [0.2, 0.3, 1.0]) == pytest.approx(1.0)
    assert spearman([0.1, 0.5, 0.9], [1.0, 0.3, 0.2]) == pytest.approx(-1.0)
    assert spearman([0.5, 0.5, 1.0, 0.0], [0.4, 0.6, 0.9, 0.1]) == pytest.approx(0.9487, abs=1e-4)
    assert math.isnan(spearman([0.1, 0.2], [0.3, 0.4]))  # too few to rank


def test_labels_file_is_checked(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text("question_id,strategy,score\n0,rag,1.5\n")
    with pytest.raises(LabelsError, match="outside"):
        load_labels(path)
    path.write_text("question,strategy,score\n0,rag,1\n")
    with pytest.raises(LabelsError, match="question_id"):
        load_labels(path)


async def test_report_shows_each_judge_against_the_people(
    make_settings: Callable[..., EvalSettings], tmp_path: Path
) -> None:
    settings = make_settings()
    await run_evaluation(settings, RunOptions(show_progress=False, transport=asgi(fake_app())))
    files = RunFiles(settings.out)
    samples = [s for s in files.samples().load().values() if s.strategy == "rag"]
    people = {s.index: s.index / 10 for s in samples}
    store = files.judgements()
    for sample in samples:  # one judge that ranks like the people, one that ranks backwards
        store.append(
            JudgementRecord(key=sample.key, judge="close", score=people[sample.index] + 0.1)
        )
        store.append(
            JudgementRecord(key=sample.key, judge="backwards", score=1 - people[sample.index])
        )
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps([
        {"question_id": str(index), "strategy": "rag", "score": score}
        for index, score in people.items()
    ]))  # fmt: skip

    assert main(["report", "--out", str(settings.out), "--labels", str(labels)]) == 0
    summary = json.loads((settings.out / "summary_results.json").read_text())
    rows = {row["judge"]: row for row in summary["agreement_with_people"]}
    assert rows["close"]["count"] == len(samples)
    assert rows["close"]["spearman"] == pytest.approx(1.0)
    assert rows["close"]["mean_absolute_difference"] == pytest.approx(0.1)
    assert rows["backwards"]["spearman"] == pytest.approx(-1.0)
    assert JURY in rows
    assert "Judges against people" in (settings.out / "report.html").read_text()
