"""`eval gate RUN_DIR CHECK...`: pass/fail checks on a finished run, for CI.

A check is `STRATEGY.COLUMN OP VALUE` (`rag.fact_recall>=0.6`) or `STRATEGY.COLUMN OP
STRATEGY.COLUMN` (`hybrid.fact_recall>rag.fact_recall`), OP one of `>=`, `<=`, `>`, `<`, COLUMN
any column of summary_results.csv. A threshold compares the run's figure. A comparison between
strategies on a tested metric is decided by the run's paired test (paired_tests.csv): `>` and
`<` pass only on a significant difference in that direction, `>=` and `<=` fail only on a
significant difference against it; a column without a paired test (a cost, a p95) compares the
two figures. Exit status: 0 all pass, 1 one fails, 2 a check or the run cannot be read.
"""

from __future__ import annotations

import csv
import math
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from eval.outputs import METRIC_COLUMNS

_CHECK = re.compile(
    r"^\s*(?P<strategy>[\w-]+)\.(?P<column>\w+)\s*(?P<op>>=|<=|>|<)\s*(?P<right>\S+?)\s*$"
)
_SIDE = re.compile(r"^(?P<strategy>[\w-]+)\.(?P<column>[A-Za-z_]\w*)$")
OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
}


class GateError(ValueError):
    """A malformed check, an unknown strategy or column, or a run without its summary."""


@dataclass(frozen=True, slots=True)
class RunTables:
    """summary_results.csv by strategy, and paired_tests.csv, of one run."""

    summary: dict[str, dict[str, str]]
    tests: list[dict[str, str]]

    @classmethod
    def read(cls, run: Path) -> RunTables:
        summary_path, tests_path = run / "summary_results.csv", run / "paired_tests.csv"
        if not summary_path.is_file():
            raise GateError(f"{summary_path} does not exist: is {run} a finished run?")
        with summary_path.open(encoding="utf-8") as handle:
            summary = {row["method"]: row for row in csv.DictReader(handle)}
        tests = []
        if tests_path.is_file():
            with tests_path.open(encoding="utf-8") as handle:
                tests = list(csv.DictReader(handle))
        return cls(summary, tests)

    def cell(self, strategy: str, column: str) -> str:
        if strategy not in self.summary:
            raise GateError(f"unknown strategy {strategy!r}: the run has {', '.join(self.summary)}")
        row = self.summary[strategy]
        if column not in row or column == "method":
            raise GateError(f"unknown column {column!r} of summary_results.csv")
        return row[column]

    def interval(self, strategy: str, column: str) -> str:
        """`0.714 [0.620, 0.800]` when the column has an interval beside it."""
        row = self.summary[strategy]
        base = column.removeprefix("avg_")
        low, high = row.get(f"{base}_ci_low", ""), row.get(f"{base}_ci_high", "")
        value = row[column] or "n/a"
        return f"{value} [{low}, {high}]" if low and high else value


@dataclass(frozen=True, slots=True)
class CheckResult:
    check: str
    passed: bool
    line: str


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return None if math.isnan(value) else value


def _threshold(
    tables: RunTables, check: str, strategy: str, column: str, op: str, right: float
) -> CheckResult:
    value = _number(tables.cell(strategy, column))
    shown = tables.interval(strategy, column)
    if value is None:
        return CheckResult(check, False, f"FAIL {check}: {strategy} has no {column} (empty)")
    passed = OPERATORS[op](value, right)
    return CheckResult(check, passed, f"{'PASS' if passed else 'FAIL'} {check}: {shown}")


def _paired(
    tables: RunTables, metric: str, first: str, second: str
) -> tuple[float, float, float, float, int] | None:
    """(first - second, its interval, p-value Holm-adjusted, n) from the run's paired test."""
    for row in tables.tests:
        if row["metric"] != metric or {row["first"], row["second"]} != {first, second}:
            continue
        sign = 1.0 if row["first"] == first else -1.0
        difference = _number(row["mean_difference"])
        adjusted = _number(row["adjusted_p_value"])
        p_value = adjusted if adjusted is not None else _number(row["p_value"])
        if difference is None or p_value is None:
            return None
        ends = [_number(row["ci_low"]), _number(row["ci_high"])]
        bounds = sorted(sign * end if end is not None else math.nan for end in ends)
        return sign * difference, bounds[0], bounds[1], p_value, int(row["n"] or 0)
    return None


def _comparison(
    tables: RunTables,
    check: str,
    left: tuple[str, str],
    op: str,
    right: tuple[str, str],
    alpha: float,
) -> CheckResult:
    (first, column), (second, other_column) = left, right
    if column != other_column:
        raise GateError(f"{check}: a comparison names the same column on both sides")
    first_value, second_value = tables.cell(first, column), tables.cell(second, column)
    figures = (
        f"{first} {tables.interval(first, column)} vs {second} {tables.interval(second, column)}"
    )
    metric = METRIC_COLUMNS.get(column)
    if metric is None:
        a, b = _number(first_value), _number(second_value)
        passed = a is not None and b is not None and OPERATORS[op](a, b)
        line = f"{figures}; no paired test for this column: the figures compared"
        return CheckResult(check, passed, f"{'PASS' if passed else 'FAIL'} {check}: {line}")
    test = _paired(tables, metric, first, second)
    if test is None:
        return CheckResult(check, False, f"FAIL {check}: {figures}; the run has no paired test")
    difference, low, high, p_value, count = test
    significant = p_value < alpha
    passed = {
        ">": difference > 0 and significant,
        "<": difference < 0 and significant,
        ">=": not (difference < 0 and significant),
        "<=": not (difference > 0 and significant),
    }[op]
    said = "significant" if significant else "not significant"
    detail = (
        f"{first} - {second} = {difference:+.4f} [{low:+.4f}, {high:+.4f}], p (Holm) = "
        f"{p_value:.4g}, n = {count}: {said} at {alpha:g}"
    )
    line = f"{figures}; {detail}"
    return CheckResult(check, passed, f"{'PASS' if passed else 'FAIL'} {check}: {line}")


def evaluate(tables: RunTables, check: str, alpha: float) -> CheckResult:
    match = _CHECK.match(check)
    if match is None:
        raise GateError(f"malformed check {check!r}: use STRATEGY.COLUMN>=0.6 or A.COLUMN>B.COLUMN")
    strategy, column, op, right = match.group("strategy", "column", "op", "right")
    side = _SIDE.match(right)
    if side is not None:
        other = (side.group("strategy"), side.group("column"))
        return _comparison(tables, check, (strategy, column), op, other, alpha)
    threshold = _number(right)
    if threshold is None:
        raise GateError(f"malformed check {check!r}: {right!r} is neither a number nor A.COLUMN")
    return _threshold(tables, check, strategy, column, op, threshold)


def run_gate(run: Path, checks: Sequence[str], alpha: float) -> tuple[int, list[str]]:
    """Exit status and one line per check; every check is read before any is judged, so a
    malformed one is reported (status 2) even after failures."""
    if not checks:
        raise GateError("no check given, e.g. rag.fact_recall>=0.6")
    tables = RunTables.read(run)
    results = [evaluate(tables, check, alpha) for check in checks]
    return (0 if all(r.passed for r in results) else 1), [r.line for r in results]
