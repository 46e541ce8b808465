"""Intervals and paired tests on data whose answer is known."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from eval.stats import PairedTest, bootstrap_interval, holm_adjust, paired_test


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


def with_p(p_value: float, name: str) -> PairedTest:
    return PairedTest(name, "b", "m", 0.0, 0.0, 0.0, p_value, 10)


def test_holm_against_a_hand_computed_table() -> None:
    # sorted: 0.005 x 4 = 0.02; 0.01 x 3 = 0.03; 0.03 x 2 = 0.06; 0.04 x 1 = 0.04 -> kept at 0.06
    # (Bonferroni would give 0.04, 0.16, 0.12, 0.02; an unsorted step-down 0.04, 0.12, ...)
    tests = [with_p(0.01, "w"), with_p(0.04, "x"), with_p(0.03, "y"), with_p(0.005, "z")]
    adjusted = holm_adjust(tests)
    assert [t.first for t in adjusted] == ["w", "x", "y", "z"]  # input order kept
    assert [t.adjusted_p_value for t in adjusted] == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_holm_caps_at_one() -> None:
    adjusted = holm_adjust([with_p(0.5, "a"), with_p(0.6, "b"), with_p(0.2, "c")])
    assert [t.adjusted_p_value for t in adjusted] == pytest.approx([1.0, 1.0, 0.6])


def exact_p_value(differences: list[float]) -> float:
    observed = abs(sum(differences) / len(differences))
    hits = 0
    for signs in itertools.product((1.0, -1.0), repeat=len(differences)):
        mean = abs(sum(s * d for s, d in zip(signs, differences, strict=True)) / len(signs))
        hits += mean >= observed - 1e-12
    return hits / 2 ** len(differences)


def test_monte_carlo_p_value_agrees_with_exact_enumeration() -> None:
    # 17 pairs: over EXACT_LIMIT, so signs are sampled; the exact answer is enumerated here.
    rng = np.random.default_rng(11)
    differences = (rng.normal(0.1, 1.0, 17)).round(2).tolist()
    exact = exact_p_value(differences)
    assert 0.05 < exact < 0.6  # a case where sampling error would show
    sampled = paired_test("a", "b", "m", [(d, 0.0) for d in differences], 20_000, seed=3)
    assert sampled.p_value == pytest.approx(exact, abs=0.01)
    again = paired_test("a", "b", "m", [(d, 0.0) for d in differences], 20_000, seed=3)
    assert again.p_value == sampled.p_value  # reproducible with its seed


def test_monte_carlo_p_value_is_never_zero() -> None:
    # 30 pairs all +1: no sampled pattern beats it; the estimate is (0 + 1) / (R + 1).
    test = paired_test("a", "b", "m", [(1.0, 0.0)] * 30, 999, seed=1)
    assert test.p_value == pytest.approx(1 / 1000)


def test_negative_differences_keep_their_sign_and_their_p() -> None:
    rng = np.random.default_rng(4)
    base = rng.uniform(0.4, 0.6, 25)
    noise = rng.normal(0.0, 0.05, 25)
    worse = list(zip(base.tolist(), (base + 0.1 + noise - noise.mean()).tolist(), strict=True))
    better = [(second, first) for first, second in worse]
    down = paired_test("a", "b", "m", worse, 5000, seed=2)
    up = paired_test("a", "b", "m", better, 5000, seed=2)
    assert down.mean_difference == pytest.approx(-0.1)
    assert down.low < down.high < 0
    assert down.p_value == pytest.approx(up.p_value) and down.p_value < 0.001
