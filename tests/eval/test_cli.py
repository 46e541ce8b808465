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


def test_every_flag_sets_its_setting_over_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from eval.cli import _parser, _settings

    monkeypatch.setenv("FMT_EVAL_HTTP__CONCURRENCY", "7")
    monkeypatch.setenv("FMT_EVAL_HTTP__TIMEOUT_S", "99")
    arguments = _parser().parse_args(
        ["run", "--url", "http://s:1", "--timeout", "5", "--attempts", "2", "--no-bertscore",
         "--strategies", "rag, hybrid", "--judge", "bedrock", "--judge", "openai=m@http://j/v1",
         "--judge-mode", "pairwise", "--repeat", "3", "--labels", "people.csv",
         "--bertscore-model", "roberta-large", "--bertscore-layers", "17"]
    )  # fmt: skip
    settings = _settings(arguments)
    assert settings.url == "http://s:1"
    assert (settings.http.timeout_s, settings.http.max_attempts) == (5.0, 2)
    assert settings.http.concurrency == 7  # from the environment, untouched by other flags
    assert settings.strategies == ["rag", "hybrid"]
    assert settings.jury.judges == ["bedrock", "openai=m@http://j/v1"]
    assert settings.jury.mode == "pairwise" and settings.repeat == 3
    assert settings.labels == Path("people.csv")
    assert not settings.bertscore.enabled
    assert (settings.bertscore.model, settings.bertscore.num_layers) == ("roberta-large", 17)
    assert _settings(_parser().parse_args(["run"])).bertscore.enabled


def test_an_invalid_flag_value_exits_2(testset: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--testset", str(testset), "--concurrency", "0"]) == 2
    assert "concurrency" in capsys.readouterr().err
