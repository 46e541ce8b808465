"""Intervals and paired tests on data whose answer is known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from eval.stats import bootstrap_interval, holm_adjust, paired_test


def test_interval_holds_the_mean_and_shrinks_with_more_data() -> None:
    rng = np.random.default_rng(1)
    small = bootstrap_interval(rng.normal(0.5, 0.1, 20).tolist(), 2000, seed=3)
    large = bootstrap_interval(rng.normal(0.5, 0.1, 2000).tolist(), 2000, seed=3)
    assert small.low < small.mean < small.high
    assert large.low < 0.5 < large.high
    assert large.high - large.low < (small.high - small.low) / 3


def test_interval_is_reproducible_with_a_seed() -> None:
    values = [0.1, 0.4, 0.35, 0.8, 0.9, 0.2]
    assert bootstrap_interval(values, 1000, seed=7) == bootstrap_interval(values, 1000, seed=7)


def test_clear_difference_gives_a_small_p() -> None:
    rng = np.random.default_rng(2)
    base = rng.uniform(0.4, 0.6, 40)
    pairs = list(zip((base + 0.2).tolist(), base.tolist(), strict=True))
    test = paired_test("a", "b", "bert_f1", pairs, 5000, seed=1)
    assert test.p_value < 0.001
    assert test.low > 0.15 and test.mean_difference == pytest.approx(0.2)


def test_identical_strategies_give_p_one() -> None:
    values = [0.3, 0.5, 0.7, 0.9] * 10
    test = paired_test("a", "b", "bert_f1", list(zip(values, values, strict=True)), 2000, seed=1)
    assert test.p_value == pytest.approx(1.0)


def test_noise_is_not_called_a_difference() -> None:
    rng = np.random.default_rng(5)
    pairs = list(zip(rng.normal(0, 1, 30).tolist(), rng.normal(0, 1, 30).tolist(), strict=True))
    assert paired_test("a", "b", "latency_s", pairs, 5000, seed=1).p_value > 0.05


def test_small_samples_are_enumerated_exactly() -> None:
    # 4 pairs all +1: of the 16 sign patterns, 2 reach |mean| = 1.
    test = paired_test("a", "b", "m", [(1.0, 0.0)] * 4, 100, seed=1)
    assert test.p_value == pytest.approx(2 / 16)


def test_holm_adjustment_is_monotone_and_capped() -> None:
    tests = [paired_test("a", "b", "m", [(1.0, 0.0)] * 4, 100, seed=1)] * 3
    adjusted = holm_adjust(tests)
    assert [t.adjusted_p_value for t in adjusted] == pytest.approx([0.375, 0.375, 0.375])
    assert all(not math.isnan(t.adjusted_p_value) for t in adjusted)
