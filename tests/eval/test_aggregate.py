"""Per-strategy figures from hand-made records: failures in the latency, facts, unknowns."""

from __future__ import annotations

import math

import pytest

from eval.aggregate import analyse, strategy_figures
from eval.records import JudgementRecord, SampleRecord, SourceRecord
from eval.settings import StatisticsSettings

SETTINGS = StatisticsSettings(resamples=500, min_judged=3)


def record(
    strategy: str,
    number: int,
    *,
    ok: bool = True,
    latency_s: float = 1.0,
    elapsed_s: float | None = None,
    attempts: int = 1,
    answer: str = "",
    facts: list[list[str]] | None = None,
    sources: list[SourceRecord] | None = None,
    product: str = "",
    model: str = "m",
) -> SampleRecord:
    return SampleRecord(
        key=f"{strategy}/q{number}",
        strategy=strategy,
        question_id=f"q{number}",
        index=number,
        question="?",
        ground_truth="!",
        product_name=product,
        ok=ok,
        answer=answer if ok else "",
        must_mention=facts or [],
        latency_ms=latency_s * 1000 if ok else None,
        elapsed_ms=(elapsed_s if elapsed_s is not None else latency_s) * 1000,
        attempts=attempts,
        sources=sources or [],
        model=model if ok else "",
        gold_product_retrieved=None,
    )


def test_failures_and_retries_count_in_latency_as_users_feel_it() -> None:
    # steady answers every question in 1 s; flaky answers 8 in 0.5 s and fails 2 after 10 s.
    steady = [record("steady", n, latency_s=1.0) for n in range(10)]
    flaky = [record("flaky", n, latency_s=0.5) for n in range(8)] + [
        record("flaky", n, ok=False, elapsed_s=10.0, attempts=4) for n in (8, 9)
    ]
    analysis = analyse([*steady, *flaky], {}, {}, ["steady", "flaky"], SETTINGS)
    figures = {f.strategy: f for f in analysis.strategies}

    assert figures["flaky"].failure_rate == pytest.approx(0.2)
    assert figures["flaky"].retry_rate == pytest.approx(0.2)
    assert figures["flaky"].intervals["latency_s"].mean == pytest.approx(2.4)
    assert figures["flaky"].latency_p95_s == pytest.approx(10.0)
    # Success-only, flaky looks twice as fast: kept, but as a second column.
    assert figures["flaky"].intervals["latency_ok_s"].mean == pytest.approx(0.5)
    latency = next(t for t in analysis.tests if t.metric == "latency_s")
    assert latency.count == 10  # the failures are paired, at their time to failure
    assert (latency.first, latency.second) == ("steady", "flaky")
    assert latency.mean_difference == pytest.approx(1.0 - 2.4)
    assert not [t for t in analysis.tests if t.metric == "latency_ok_s"]


def test_retried_answer_counts_its_time_to_final_outcome() -> None:
    retried = record("s", 0, latency_s=0.4, elapsed_s=3.0, attempts=3)
    throttled = record("s", 1, latency_s=0.4, elapsed_s=5.4)
    throttled = throttled.model_copy(update={"throttle_wait_ms": 5000.0})
    figures = strategy_figures("s", [retried, throttled], {}, {}, [], SETTINGS)
    # Waits on the service's 429s are the runner's own pacing, not the user's latency.
    assert figures.values["latency_s"] == pytest.approx({"q0": 3.0, "q1": 0.4})
    assert figures.values["latency_ok_s"] == pytest.approx({"q0": 0.4, "q1": 0.4})


def test_fact_recall_per_strategy_with_an_interval() -> None:
    facts = [["4,000 hours", "4000 h"], ["MA-OF90"]]
    samples = [
        record("s", 0, answer="Every 4000 h, with filter MA-OF90.", facts=facts),
        record("s", 1, answer="Every 4,000 hours.", facts=facts),
        record("s", 2, answer="Every 1,000 hours.", facts=facts),
        record("s", 3, answer="No facts listed for this one."),
        record("s", 4, ok=False, facts=facts),
    ]
    figures = strategy_figures("s", samples, {}, {}, [], SETTINGS)
    assert figures.values["fact_recall"] == {"q0": 1.0, "q1": 0.5, "q2": 0.0}
    interval = figures.intervals["fact_recall"]
    assert interval.mean == pytest.approx(0.5) and interval.count == 3
    assert 0.0 <= interval.low < 0.5 < interval.high <= 1.0


def test_the_test_sets_facts_override_the_recorded_ones() -> None:
    sample = record("s", 0, answer="Use the red spring.", facts=[["blue"]])
    figures = strategy_figures("s", [sample], {}, {}, [], SETTINGS, {"q0": [("red",)]})
    assert figures.values["fact_recall"] == {"q0": 1.0}


def source(title: str) -> SourceRecord:
    return SourceRecord(id="c1", title=title, location="catalog.txt", score=1.0)


def test_gold_hit_rate_is_unknown_when_no_product_was_recognised() -> None:
    unrecognised = [
        record("rag", n, product="Kestrel KX-420", sources=[source("catalog.txt")])
        for n in range(3)
    ]
    analysis = analyse(unrecognised, {}, {}, ["rag"], SETTINGS)
    assert analysis.gold_unknown and analysis.strategies[0].gold_hit_rate is None

    wrong_product = [
        record("rag", n, product="Kestrel KX-420", sources=[source("Orrin OC-880")])
        for n in range(3)
    ]
    wrong_product = [s.model_copy(update={"gold_product_retrieved": False}) for s in wrong_product]
    other = record("rag", 9, product="Orrin OC-880", sources=[source("Orrin OC-880")])
    other = other.model_copy(update={"gold_product_retrieved": True})
    analysis = analyse([*wrong_product, other], {}, {}, ["rag"], SETTINGS)
    assert not analysis.gold_unknown
    assert analysis.strategies[0].gold_hit_rate == pytest.approx(0.25)


def test_untuned_model_is_flagged() -> None:
    samples = [record("finetuned", 0, model="SmolLM2-135M-Instruct (untuned)")]
    assert strategy_figures("finetuned", samples, {}, {}, [], SETTINGS).untuned
    tuned = [record("finetuned", 0, model="SmolLM2-135M-Instruct+lora:catalog")]
    assert not strategy_figures("finetuned", tuned, {}, {}, [], SETTINGS).untuned


def test_judge_score_needs_the_minimum_of_judged_answers() -> None:
    samples = [record("s", n) for n in range(4)]
    judgements = {
        ("s/q0", "j"): JudgementRecord(key="s/q0", judge="j", score=0.7, reason="r"),
        ("s/q1", "j"): JudgementRecord(key="s/q1", judge="j", score=0.9, reason="r"),
        ("s/q2", "j"): JudgementRecord(key="s/q2", judge="j", score=None, error="unreadable"),
    }
    figures = strategy_figures("s", samples, {}, judgements, ["j"], SETTINGS)
    assert figures.judged == 2 and figures.failed_judgements == 1
    assert figures.jury_coverage == pytest.approx(0.5)
    assert figures.judge_coverage("j") == pytest.approx(0.5)
    assert math.isnan(figures.intervals["judge_score"].mean)  # 2 < min_judged = 3
    assert figures.intervals["judge_score"].count == 2
