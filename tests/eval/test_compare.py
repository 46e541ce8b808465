"""`eval compare`: a deliberate regression is caught, an unchanged rerun passes."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from app.core.types import ChatMessage
from eval.cli import main
from eval.runner import RunOptions, run_evaluation
from eval.settings import EvalSettings

from .conftest import MORE_PRODUCTS, asgi, catalog_questions, echo_context, fake_app

QUESTIONS, PASSAGES = catalog_questions(MORE_PRODUCTS)


def drops_the_figures(messages: Sequence[ChatMessage]) -> str:
    """A worse generator: the passage with its figures left out, so every fact is lost."""
    return echo_context(messages).replace("210 bar", "high").replace("400 V", "mains")


@pytest.fixture
def run_with(make_settings: Callable[..., EvalSettings], tmp_path: Path) -> Callable[..., object]:
    testset = tmp_path / "twelve.json"
    testset.write_text(json.dumps(QUESTIONS), encoding="utf-8")

    async def run(name: str, **app_options: object) -> Path:
        settings = make_settings(testset=testset, out=tmp_path / name)
        app = fake_app(passages=PASSAGES, **app_options)  # type: ignore[arg-type]
        await run_evaluation(settings, RunOptions(show_progress=False, transport=asgi(app)))
        return settings.out

    return run


def compare_rows(out: Path) -> dict[tuple[str, str], dict[str, str]]:
    with (out / "compare.csv").open(encoding="utf-8") as handle:
        return {(row["strategy"], row["metric"]): row for row in csv.DictReader(handle)}


async def test_an_unchanged_rerun_passes(
    run_with: Callable[..., object], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = await run_with("first")  # type: ignore[misc]
    second = await run_with("second")  # type: ignore[misc]
    out = tmp_path / "comparison"
    assert (
        main(["compare", str(first), str(second), "--out", str(out), "--fail-on-regression"]) == 0
    )
    printed = capsys.readouterr().out
    assert "12 questions in both runs" in printed and "0 regression(s)" in printed
    rows = compare_rows(out)
    assert rows[("rag", "fact_recall")]["change"] == "no significant change"
    assert rows[("rag", "fact_recall")]["n"] == "12"
    assert "Run A against run B" in (out / "compare.html").read_text()


async def test_a_generator_that_drops_a_fact_is_a_regression(
    run_with: Callable[..., object], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = await run_with("before")  # type: ignore[misc]
    after = await run_with("after", base_answer=drops_the_figures)  # type: ignore[misc]
    assert main(["compare", str(before), str(after), "--fail-on-regression"]) == 1
    assert "regression(s): rag fact_recall" in capsys.readouterr().out
    rows = compare_rows(after)  # --out defaults to RUN_B
    rag = rows[("rag", "fact_recall")]
    assert rag["change"] == "worse" and float(rag["difference"]) == pytest.approx(-1.0)
    assert float(rag["adjusted_p_value"]) < 0.05
    assert rows[("finetuned", "fact_recall")]["change"] == "no significant change"
    html = (after / "compare.html").read_text()
    assert "Biggest per-question changes" in html and "rated at high pressure" in html
    # Without the flag the comparison is reported, and the exit status stays 0.
    assert main(["compare", str(before), str(after)]) == 0


async def test_runs_of_different_test_sets_are_refused(
    run_with: Callable[..., object],
    make_settings: Callable[..., EvalSettings],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    twelve = await run_with("twelve")  # type: ignore[misc]
    six = make_settings(out=tmp_path / "six")  # the conftest's six-question set
    await run_evaluation(six, RunOptions(show_progress=False, transport=asgi(fake_app())))
    assert main(["compare", str(twelve), str(six.out)]) == 2
    error = capsys.readouterr().err
    assert "different test sets" in error and "twelve.json" in error and "test.json" in error


async def test_the_manifest_differences_are_named(
    run_with: Callable[..., object], capsys: pytest.CaptureFixture[str]
) -> None:
    first = await run_with("first")  # type: ignore[misc]
    retrained = await run_with("retrained", tuned_model_id="tuned-v2")  # type: ignore[misc]
    assert main(["compare", str(first), str(retrained)]) == 0
    assert "differs: identity.backends.models.tuned: 'fake-tuned' -> 'tuned-v2'" in (
        capsys.readouterr().out
    )
