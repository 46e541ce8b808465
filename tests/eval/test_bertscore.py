"""BERTScore on the bundled MiniLM backbone (real model: slow)."""

from __future__ import annotations

from pathlib import Path

import pytest

from eval.metrics.bertscore import BertScorer, score_samples
from eval.records import BertScoreRecord, SampleRecord
from eval.settings import BertScoreSettings
from eval.store import JsonlStore

pytestmark = pytest.mark.slow

REFERENCE = "The MANUFLEX 9000 runs at a hydraulic pressure of 210 bar."


def test_close_answer_scores_above_unrelated_one() -> None:
    scorer = BertScorer(BertScoreSettings())
    close, unrelated = scorer.score(
        ["The hydraulic pressure of the MANUFLEX 9000 is 210 bar.", "Bananas are yellow fruit."],
        [REFERENCE, REFERENCE],
    )
    assert close[2] > unrelated[2] + 0.1
    assert 0.0 < unrelated[2] < close[2] <= 1.0


async def test_scores_are_stored_once(tmp_path: Path) -> None:
    sample = SampleRecord(
        key="rag/1", strategy="rag", question_id="1", index=0, question="Pressure?",
        ground_truth=REFERENCE, ok=True, answer="It runs at 210 bar.",
    )  # fmt: skip
    store = JsonlStore(tmp_path / "b.jsonl", BertScoreRecord, lambda r: r.key)
    assert await score_samples([sample], store, BertScoreSettings()) == 1
    assert await score_samples([sample], store, BertScoreSettings()) == 0
    assert "MiniLM" in store.load()["rag/1"].backbone
