"""The command line: rebuilding a report, refusing to overwrite a run."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from eval.cli import main
from eval.runner import RunOptions, run_evaluation
from eval.settings import EvalSettings

from .conftest import asgi, fake_app


async def test_report_is_rebuilt_from_the_records(
    make_settings: Callable[..., EvalSettings],
) -> None:
    settings = make_settings()
    await run_evaluation(settings, RunOptions(show_progress=False, transport=asgi(fake_app())))
    (settings.out / "report.html").unlink()
    (settings.out / "summary_results.csv").unlink()

    assert main(["report", "--out", str(settings.out)]) == 0
    assert "Verdict" in (settings.out / "report.html").read_text()
    assert (settings.out / "summary_results.csv").read_text().count("\n") == 4


def test_run_refuses_an_occupied_folder(
    testset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "samples.jsonl").write_text('{"key": "x"}\n')
    code = main(["run", "--testset", str(testset), "--out", str(out), "--no-bertscore"])
    assert code == 2
    assert "--resume" in capsys.readouterr().err
