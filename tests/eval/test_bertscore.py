"""BERTScore on the bundled MiniLM backbone (real model: slow)."""

from __future__ import annotations

from pathlib import Path

import pytest

from eval.aggregate import scores_of_backbone
from eval.metrics.bertscore import BertScorer, score_samples
from eval.paths import RunFiles
from eval.records import SampleRecord
from eval.settings import BertScoreSettings

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


def test_an_empty_answer_scores_zero_beside_answers_that_score() -> None:
    scorer = BertScorer(BertScoreSettings())
    answered, empty, blank = scorer.score(
        ["The MANUFLEX 9000 runs at 210 bar.", "", "  "], [REFERENCE, REFERENCE, REFERENCE]
    )
    assert answered[2] > 0.5
    assert empty == blank == (0.0, 0.0, 0.0)


async def test_scores_are_stored_once_per_backbone(tmp_path: Path) -> None:
    sample = SampleRecord(
        key="rag/1", strategy="rag", question_id="1", index=0, question="Pressure?",
        ground_truth=REFERENCE, ok=True, answer="It runs at 210 bar.",
    )  # fmt: skip
    store = RunFiles(tmp_path).bertscores()
    assert await score_samples([sample], store, BertScoreSettings()) == 1
    assert await score_samples([sample], store, BertScoreSettings()) == 0
    # Another layer is another backbone: scored anew, and never mixed with the first.
    assert await score_samples([sample], store, BertScoreSettings(num_layers=4)) == 1
    scores = store.load()
    assert set(scores) == {
        ("rag/1", "all-MiniLM-L6-v2 (layer 6)"),
        ("rag/1", "all-MiniLM-L6-v2 (layer 4)"),
    }
    layer_six = scores_of_backbone(scores, "all-MiniLM-L6-v2 (layer 6)")
    assert layer_six["rag/1"].f1 != scores[("rag/1", "all-MiniLM-L6-v2 (layer 4)")].f1
