"""The verdict names a winner only where the paired test says the difference is real."""

from __future__ import annotations

import numpy as np

from eval.aggregate import analyse
from eval.records import BertScoreRecord, SampleRecord
from eval.report.verdict import metric_verdict
from eval.settings import StatisticsSettings

SETTINGS = StatisticsSettings(resamples=2000)


def scored(
    strategy: str, scores: list[float]
) -> tuple[list[SampleRecord], dict[str, BertScoreRecord]]:
    samples, bert = [], {}
    for number, score in enumerate(scores):
        key = f"{strategy}/q{number}"
        samples.append(
            SampleRecord(
                key=key,
                strategy=strategy,
                question_id=f"q{number}",
                index=number,
                question="?",
                ground_truth="!",
                ok=True,
                answer="a",
                latency_ms=100.0,
                elapsed_ms=100.0,
            )
        )
        bert[key] = BertScoreRecord(key=key, precision=score, recall=score, f1=score, backbone="b")
    return samples, bert


def verdict_for(first: list[float], second: list[float]) -> str:
    samples_a, bert_a = scored("alpha", first)
    samples_b, bert_b = scored("beta", second)
    analysis = analyse(
        [*samples_a, *samples_b], {**bert_a, **bert_b}, {}, ["alpha", "beta"], SETTINGS
    )
    line = metric_verdict(analysis, "bert_f1")
    assert line is not None
    return line


def test_a_real_lead_names_the_winner() -> None:
    rng = np.random.default_rng(3)
    base = rng.uniform(0.3, 0.6, 30)
    line = verdict_for((base + 0.1).tolist(), base.tolist())
    assert line.startswith("On BERTScore F1, alpha is best")
    assert "a real difference" in line


def test_noise_names_no_winner_even_with_a_higher_mean() -> None:
    rng = np.random.default_rng(8)
    first, second = rng.uniform(0.3, 0.6, 12), rng.uniform(0.3, 0.6, 12)
    line = verdict_for(first.tolist(), second.tolist())
    assert line.startswith("On BERTScore F1, no clear winner")
    assert "not distinguishable from noise" in line
    assert " is best" not in line


def test_a_lead_in_the_wrong_direction_is_not_a_win_on_latency() -> None:
    samples_a, _ = scored("alpha", [0.5] * 20)
    samples_b, _ = scored("beta", [0.5] * 20)
    slow = [s.model_copy(update={"elapsed_ms": 900.0 + s.index}) for s in samples_a]
    analysis = analyse([*slow, *samples_b], {}, {}, ["alpha", "beta"], SETTINGS)
    line = metric_verdict(analysis, "latency_s")
    assert line is not None and line.startswith("On latency to outcome")
    assert "beta is best" in line  # lower is better for latency
