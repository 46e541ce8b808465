"""Bootstrap confidence intervals and paired tests, so a real difference can be told from noise."""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

EXACT_LIMIT = 16  # up to 2**16 sign patterns are enumerated instead of sampled


@dataclass(frozen=True, slots=True)
class Interval:
    mean: float
    low: float
    high: float
    count: int


@dataclass(frozen=True, slots=True)
class PairedTest:
    """Mean of `first - second` over questions both answered, its interval, and the p-value
    of a paired sign-flip permutation test (two-sided)."""

    first: str
    second: str
    metric: str
    mean_difference: float
    low: float
    high: float
    p_value: float
    count: int
    adjusted_p_value: float = math.nan


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=float), q)) if values else math.nan


def bootstrap_interval(
    values: Sequence[float], resamples: int, seed: int, confidence: float = 0.95
) -> Interval:
    """Percentile bootstrap of the mean."""
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        return Interval(math.nan, math.nan, math.nan, 0)
    if data.size == 1:
        return Interval(float(data[0]), float(data[0]), float(data[0]), 1)
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, data.size, size=(resamples, data.size))].mean(axis=1)
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(means, [tail, 100.0 - tail])
    return Interval(float(data.mean()), float(low), float(high), int(data.size))


def sign_flip_p_value(differences: np.ndarray, resamples: int, seed: int) -> float:
    """Under no difference, each paired difference is as likely positive as negative."""
    count = differences.size
    observed = abs(differences.mean())
    tolerance = 1e-12 * max(1.0, observed)
    if count <= EXACT_LIMIT:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=count)))
        means = np.abs((signs * differences).mean(axis=1))
        return float(np.mean(means >= observed - tolerance))
    rng = np.random.default_rng(seed)
    signs = rng.choice((1.0, -1.0), size=(resamples, count))
    means = np.abs((signs * differences).mean(axis=1))
    return float((np.sum(means >= observed - tolerance) + 1) / (resamples + 1))


def paired_test(
    first: str,
    second: str,
    metric: str,
    pairs: Sequence[tuple[float, float]],
    resamples: int,
    seed: int,
    confidence: float = 0.95,
) -> PairedTest:
    differences = np.asarray([a - b for a, b in pairs], dtype=float)
    if differences.size == 0:
        return PairedTest(first, second, metric, math.nan, math.nan, math.nan, math.nan, 0)
    interval = bootstrap_interval(differences.tolist(), resamples, seed, confidence)
    p_value = sign_flip_p_value(differences, resamples, seed)
    return PairedTest(
        first, second, metric, interval.mean, interval.low, interval.high, p_value, interval.count
    )


def holm_adjust(tests: Sequence[PairedTest]) -> list[PairedTest]:
    """Holm's step-down correction within one metric: several pairs, one family of tests."""
    order = sorted(range(len(tests)), key=lambda index: tests[index].p_value)
    adjusted = [math.nan] * len(tests)
    running = 0.0
    for rank, index in enumerate(order):
        p_value = tests[index].p_value
        if math.isnan(p_value):
            continue
        running = max(running, min(1.0, (len(tests) - rank) * p_value))
        adjusted[index] = running
    return [
        dataclasses.replace(test, adjusted_p_value=value)
        for test, value in zip(tests, adjusted, strict=True)
    ]
