"""The retrieval hit-rate measurement and the retriever's command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.core.types import Passage
from app.retrievers import local
from eval.retrieval.__main__ import main
from eval.retrieval.hit_rate import GoldQuestion, measure_hit_rate, read_test_questions
from tests.retrievers.local_support import HashingEncoder, write_tiny_catalog


def _passage(title: str) -> Passage:
    return Passage(id=title, title=title, text="", score=1.0, location="")


def test_hit_rate_counts_gold_product_among_titles_ignoring_case() -> None:
    answers = {
        "first": ["Press", "Welder"],
        "second": ["Pump"],
        "third": ["welder"],
    }
    questions = [
        GoldQuestion(product_name="Welder", question="first"),
        GoldQuestion(product_name="Welder", question="second"),
        GoldQuestion(product_name="Welder", question="third"),
    ]

    report = measure_hit_rate(
        lambda question, top_k: [_passage(title) for title in answers[question][:top_k]],
        questions,
        top_k=3,
    )

    assert (report.hits, report.questions) == (2, 3)
    assert report.hit_rate == pytest.approx(2 / 3)
    assert [miss.question for miss in report.misses] == ["second"]
    assert report.misses[0].retrieved == ["Pump"]
    assert len(report.latencies_ms) == 3


def test_test_set_is_read_with_its_fields(tmp_path: Path) -> None:
    path = tmp_path / "test.json"
    records = [{"product_name": "Pump", "question": "Flow?", "answer": "90", "section": "D"}]
    path.write_text(json.dumps(records), encoding="utf-8")

    assert read_test_questions(path) == [GoldQuestion("Pump", "Flow?", "D")]


@pytest.fixture
def environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    catalog = write_tiny_catalog(tmp_path / "kb")
    monkeypatch.setenv("FMT_CATALOG", str(catalog))
    monkeypatch.setenv("FMT_RETRIEVAL__INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setattr(local, "load_embedder", lambda _settings: HashingEncoder())
    monkeypatch.setattr(local, "limit_torch_threads", lambda: None)
    return tmp_path


def test_build_command_writes_the_index(
    environment: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--build"]) == 0

    folders = list((environment / "index").iterdir())
    assert len(folders) == 1
    assert (folders[0] / "manifest.json").is_file()
    assert str(folders[0]) in capsys.readouterr().out


def test_hit_rate_command_reports_the_rate(
    environment: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    test_set = environment / "test.json"
    questions = [
        {"product_name": "Brantley BW-350 MIG Welder", "question": "helmet shade above 250 A"},
        {"product_name": "Vantor VP-65 Centrifugal Process Pump", "question": "impeller nut"},
    ]
    test_set.write_text(json.dumps(questions), encoding="utf-8")

    assert main(["--hit-rate", str(test_set), "--top-k", "1"]) == 0

    assert "hit rate @1: 2/2 = 100.0%" in capsys.readouterr().out
