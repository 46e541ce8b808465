"""`eval gate`: thresholds, comparisons decided by the paired test, and its exit codes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from eval.cli import main
from eval.runner import RunOptions, run_evaluation
from eval.settings import EvalSettings

from .conftest import MORE_PRODUCTS, asgi, catalog_questions, fake_app


@pytest.fixture
async def finished_run(make_settings: Callable[..., EvalSettings], tmp_path: Path) -> Path:
    """Twelve questions: rag repeats the passage (every fact), the tuned fake says
    "It is rated at 100 units." (no fact, one invented figure)."""
    questions, passages = catalog_questions(MORE_PRODUCTS)
    testset = tmp_path / "twelve.json"
    testset.write_text(json.dumps(questions), encoding="utf-8")
    settings = make_settings(testset=testset, out=tmp_path / "run")
    await run_evaluation(
        settings, RunOptions(show_progress=False, transport=asgi(fake_app(passages=passages)))
    )
    return settings.out


def gate(run: Path, *checks: str) -> int:
    return main(["gate", str(run), *checks])


async def test_thresholds_pass_and_fail(
    finished_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert gate(finished_run, "rag.fact_recall>=0.9", "finetuned.unsupported_figure_rate>=0.5") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("PASS rag.fact_recall>=0.9: 1.0 [1.0, 1.0]")
    assert len(lines) == 2

    assert gate(finished_run, "rag.fact_recall>=0.9", "hybrid.fact_recall>=0.6") == 1
    out = capsys.readouterr().out
    assert "PASS rag.fact_recall>=0.9" in out and "FAIL hybrid.fact_recall>=0.6: 0.0" in out


async def test_any_summary_column_can_be_named(finished_run: Path) -> None:
    assert gate(finished_run, "rag.samples>=12", "rag.failure_rate<=0") == 0
    assert gate(finished_run, "finetuned.context_fact_recall>=0") == 1  # empty: no sources


async def test_a_comparison_passes_only_on_a_significant_difference(
    finished_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert gate(finished_run, "rag.fact_recall>hybrid.fact_recall") == 0
    assert "significant at 0.05" in capsys.readouterr().out
    # The same figures both ways: no significant difference, so `>` fails and `>=` passes.
    assert gate(finished_run, "finetuned.fact_recall>hybrid.fact_recall") == 1
    assert "not significant" in capsys.readouterr().out
    assert gate(finished_run, "finetuned.fact_recall>=hybrid.fact_recall") == 0
    assert gate(finished_run, "hybrid.fact_recall>=rag.fact_recall") == 1
    assert gate(finished_run, "rag.unsupported_figure_rate<finetuned.unsupported_figure_rate") == 0


@pytest.mark.parametrize(
    ("check", "message"),
    [
        ("rag.fact_recall=>0.6", "malformed"),
        ("rag.fact_recall>=lots", "malformed"),
        ("ragged.fact_recall>=0.6", "unknown strategy 'ragged'"),
        ("rag.fact_recal>=0.6", "unknown column 'fact_recal'"),
        ("rag.fact_recall>hybrid.bert_f1", "same column"),
    ],
)
async def test_a_bad_check_exits_2(
    finished_run: Path, check: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert gate(finished_run, "rag.fact_recall>=0.9", check) == 2
    assert message in capsys.readouterr().err


def test_a_folder_without_a_run_exits_2(tmp_path: Path) -> None:
    assert gate(tmp_path, "rag.fact_recall>=0.6") == 2
