"""compare.csv and compare.html: two runs side by side, from `eval.compare.Comparison`."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from jinja2 import Environment, select_autoescape

from eval.aggregate import METRICS
from eval.atomic import write_text_atomic
from eval.compare import UNGATED_METRICS, Comparison, MetricChange

COMPARE_COLUMNS = (
    "strategy",
    "metric",
    "a",
    "b",
    "difference",
    "ci_low",
    "ci_high",
    "p_value",
    "adjusted_p_value",
    "n",
    "change",
    "gated",
)


def _cell(value: float, digits: int = 4) -> float | str:
    return "" if math.isnan(value) else round(value, digits)


def change_row(change: MetricChange) -> dict[str, object]:
    test = change.test
    return {
        "strategy": change.strategy,
        "metric": change.metric,
        "a": _cell(change.a),
        "b": _cell(change.b),
        "difference": _cell(test.mean_difference),
        "ci_low": _cell(test.low),
        "ci_high": _cell(test.high),
        "p_value": _cell(test.p_value),
        "adjusted_p_value": _cell(test.adjusted_p_value),
        "n": test.count,
        "change": change.direction,
        "gated": change.metric not in UNGATED_METRICS,
    }


def write_compare_csv(out: Path, comparison: Comparison) -> Path:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COMPARE_COLUMNS)
    writer.writeheader()
    writer.writerows(change_row(change) for change in comparison.changes)
    return write_text_atomic(out / "compare.csv", buffer.getvalue())


TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>fm-tailor: run comparison</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#222;padding:0 1rem}
table{border-collapse:collapse;margin:1rem 0;font-size:.9rem}
th,td{border:1px solid #ccc;padding:.3rem .6rem;text-align:right;vertical-align:top}
th:first-child,td:first-child{text-align:left}
td.text{text-align:left;max-width:30rem;white-space:pre-wrap}
.worse{background:#fde8e8}.better{background:#e8f6e8}.muted{color:#666;font-size:.85rem}
</style></head><body>
<h1>Run A against run B</h1>
<p>A: {{ a }} &middot; B: {{ b }} &middot; {{ common }} questions in both
({{ only_a }} only in A, {{ only_b }} only in B).</p>
<p><strong>{{ regressions|length }} regression(s)</strong>{% if regressions %}:
{{ regressions|join("; ") }}{% endif %}.</p>
<h2>What differs between the runs</h2>
{% if differences %}<ul>{% for line in differences %}<li><code>{{ line }}</code></li>{% endfor %}
</ul>{% else %}<p>Nothing recorded differs (service, models, scorer, judges, prices, packages).
</p>{% endif %}
<h2>Per strategy and metric</h2>
<table><tr><th>strategy</th><th>metric</th><th>A</th><th>B</th><th>B - A [95% CI]</th>
<th>p</th><th>p (Holm)</th><th>n</th><th>change</th></tr>
{% for row in rows %}<tr class="{{ row.css }}"><td>{{ row.strategy }}</td><td>{{ row.metric }}</td>
<td>{{ row.a }}</td><td>{{ row.b }}</td><td>{{ row.difference }}</td><td>{{ row.p }}</td>
<td>{{ row.adjusted }}</td><td>{{ row.n }}</td><td>{{ row.change }}</td></tr>{% endfor %}
</table>
<p class="muted">Means over the questions both runs answered (a question asked several times
counts as the mean of its answers). Paired sign-flip test per strategy and metric, p-values
Holm-adjusted within a metric. Latency is tested but never counted as a regression: two runs
rarely share a machine and its load.</p>
<h2>Biggest per-question changes</h2>
<table><tr><th>strategy</th><th>metric</th><th>question</th><th>A</th><th>B</th>
<th>answer in A</th><th>answer in B</th></tr>
{% for change in biggest %}<tr><td>{{ change.strategy }}</td><td>{{ change.metric }}</td>
<td class="text">{{ change.question }}</td><td>{{ "%.3f"|format(change.a) }}</td>
<td>{{ "%.3f"|format(change.b) }}</td><td class="text">{{ change.answer_a }}</td>
<td class="text">{{ change.answer_b }}</td></tr>{% endfor %}</table>
</body></html>
"""


def _fmt(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.3f}"


def render_compare(comparison: Comparison) -> str:
    rows = [
        {
            "strategy": change.strategy,
            "metric": METRICS[change.metric],
            "a": _fmt(change.a),
            "b": _fmt(change.b),
            "difference": f"{_fmt(change.test.mean_difference)} "
            f"[{_fmt(change.test.low)}, {_fmt(change.test.high)}]",
            "p": _fmt(change.test.p_value),
            "adjusted": _fmt(change.test.adjusted_p_value),
            "n": change.test.count,
            "change": change.direction,
            "css": change.direction if change.direction in ("better", "worse") else "",
        }
        for change in comparison.changes
    ]
    environment = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    return environment.from_string(TEMPLATE).render(
        a=comparison.a.path,
        b=comparison.b.path,
        common=comparison.common_questions,
        only_a=comparison.only_a,
        only_b=comparison.only_b,
        regressions=[f"{c.strategy} {c.metric}" for c in comparison.regressions],
        differences=comparison.manifest_differences,
        rows=rows,
        biggest=comparison.biggest,
    )


def write_compare(out: Path, comparison: Comparison) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    return [
        write_compare_csv(out, comparison),
        write_text_atomic(out / "compare.html", render_compare(comparison)),
    ]
