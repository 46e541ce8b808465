"""The training's progress file: what the service reads while the adapter trains."""

from __future__ import annotations

import os
from pathlib import Path

from app.generators.lora_adapters import read_progress
from infra.finetune.progress import EXPORT_ALLOWANCE_S, ProgressReporter


def test_progress_goes_from_loading_through_the_steps_to_done(tmp_path: Path) -> None:
    path = tmp_path / "progress.json"
    reporter = ProgressReporter(path, "quick")
    reporter.state("loading")
    assert read_progress(path).state == "loading"  # type: ignore[union-attr]

    reporter.begin_training(total_steps=10)
    reporter.step(4, 2.5)
    progress = read_progress(path)
    assert progress is not None
    assert (progress.state, progress.step, progress.total_steps) == ("training", 4, 10)
    assert progress.eta_s is not None and progress.eta_s >= EXPORT_ALLOWANCE_S
    assert progress.pid == os.getpid() and progress.active

    reporter.state("done", step=10)
    done = read_progress(path)
    assert done is not None and not done.active and done.eta_s == 0.0


def test_the_eta_never_passes_the_time_bound(tmp_path: Path) -> None:
    path = tmp_path / "progress.json"
    reporter = ProgressReporter(path, "quick", max_seconds=0.0)
    reporter.begin_training(total_steps=1000)
    reporter.step(1, 3.0)

    assert read_progress(path).eta_s == EXPORT_ALLOWANCE_S  # type: ignore[union-attr]


def test_a_half_written_or_missing_file_reads_as_no_progress(tmp_path: Path) -> None:
    (tmp_path / "progress.json").write_text('{"state": "trai', encoding="utf-8")

    assert read_progress(tmp_path / "progress.json") is None
    assert read_progress(tmp_path / "absent.json") is None
