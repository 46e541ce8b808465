"""The Jinja template of report.html: inline CSS and SVG only, so the file stands alone."""

TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>fm-tailor evaluation: {{ manifest.started_at }}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#222;padding:0 1rem}
table{border-collapse:collapse;margin:1rem 0;font-size:.9rem}
th,td{border:1px solid #ccc;padding:.3rem .6rem;text-align:right;vertical-align:top}
th:first-child,td:first-child{text-align:left}
td.text{text-align:left;max-width:40rem;white-space:pre-wrap}
.verdict{background:#f4f8ff;border-left:4px solid #1f77b4;padding:.6rem 1.2rem}
.banner{background:#fff6e5;border-left:4px solid #e69500;padding:.6rem 1.2rem}
.muted{color:#666;font-size:.85rem}
svg{max-width:100%;height:auto}
</style></head><body>
<h1>Which strategy wins on this data?</h1>
<p class="muted">Service {{ manifest.service_url }} &middot; test set {{ manifest.testset }}
(sha256 {{ (manifest.testset_sha256 or "")[:12] }}, {{ manifest.questions }} questions) &middot;
{{ manifest.started_at }} to {{ manifest.finished_at }}</p>
{% if banners %}<section class="banner"><h2>Read this first</h2><ul>
{% for line in banners %}<li>{{ line }}</li>{% endfor %}
</ul></section>{% endif %}
<section class="verdict"><h2>Verdict</h2><ul>
{% for line in verdict %}<li>{{ line }}</li>{% endfor %}
</ul><p class="muted">Intervals: 95% bootstrap of the mean over questions. Tests: paired
sign-flip permutation over the questions both strategies measured, p-values Holm-adjusted within
each metric; a winner is named only when its lead over every other strategy is significant.
Latency counts every request: a failure counts as its time to failure, a retried request as
its time to the final outcome.</p></section>

<h2>Summary</h2>
<table><tr><th>strategy</th><th>answered</th><th>failed</th><th>BERTScore F1 [95% CI]</th>
<th>fact recall [95% CI]</th><th>context fact recall [95% CI]</th>
<th>unsupported figure rate [95% CI]</th><th>judge score [95% CI]</th><th>judged / answered</th>
<th>gold product retrieved</th><th>tokens in / out</th><th>USD / month</th>
<th>USD / 1k requests (this run's token counts)</th></tr>
{% for row in rows %}<tr><td>{{ row.strategy }}</td><td>{{ row.answered }}</td>
<td>{{ row.failed }}</td><td>{{ row.bert }}</td><td>{{ row.facts }}</td>
<td>{{ row.context_facts }}</td><td>{{ row.invented }}</td><td>{{ row.judge }}</td>
<td>{{ row.judged }}</td><td>{{ row.hit }}</td><td>{{ row.tokens }}</td>
<td>{{ row.monthly }}</td><td>{{ row.per_thousand }}</td></tr>{% endfor %}
</table>
<p class="muted">BERTScore backbone: {{ bert_backbone or "not computed" }}.
Fact recall: share of each question's <code>must_mention</code> facts the answer states;
context fact recall: share of them in the text of the sources the service returned (empty for a
strategy without sources); unsupported figure rate: share of answers stating a number or code
found in neither the question, the reference answer nor the sources.
Judges: {{ judges|join(", ") if judges else "no judge configured" }}; a judge score needs at
least {{ min_judged }} judged answers. The 1k-request cost prices this run's token counts
(the serving model's tokenizer) at {{ generator_model }} rates.</p>

<h2>Where facts are lost: retrieval or generation</h2>
<table><tr><th>strategy</th><th>answers</th><th>facts in the sources (retrieved)</th>
<th>facts in the answer (stated)</th><th>answers inventing a figure</th>
<th>figures invented</th></tr>
{% for row in funnel %}<tr><td>{{ row.strategy }}</td><td>{{ row.answers }}</td>
<td>{{ row.retrieved }}</td><td>{{ row.stated }}</td><td>{{ row.inventing }}</td>
<td>{{ row.invented }}</td></tr>{% endfor %}</table>
<p class="muted">Facts are counted over every answered sample. A fact stated but not
retrieved came from the model (or the question); a fact retrieved but not stated is a
generation miss. The per-question drill-down is at the end of the report.</p>

{% if agreement %}<h2>Judges against people</h2>
<table><tr><th>judge</th><th>labelled answers scored</th><th>Spearman rank correlation</th>
<th>mean absolute difference</th></tr>
{% for row in agreement %}<tr><td>{{ row.judge }}</td><td>{{ row.n }}</td>
<td>{{ row.spearman }}</td><td>{{ row.mad }}</td></tr>{% endfor %}</table>
<p class="muted">From the people's scores given with <code>--labels</code>; a correlation
needs at least 3 labelled answers.</p>{% endif %}

<h2>Latency</h2>
<table><tr><th>strategy</th><th>to outcome, every request: mean [95% CI] (s)</th>
<th>p50 (s)</th><th>p95 (s)</th><th>failure rate</th><th>retry rate</th>
<th>answered only, successful attempt: mean [95% CI] (s)</th><th>p95 (s)</th>
<th>server retrieve mean (s)</th><th>server generate mean (s)</th>
<th>server total mean / p95 (s)</th></tr>
{% for row in latency_rows %}<tr><td>{{ row.strategy }}</td><td>{{ row.latency }}</td>
<td>{{ row.p50 }}</td><td>{{ row.p95 }}</td><td>{{ row.failure_rate }}</td>
<td>{{ row.retry_rate }}</td><td>{{ row.answered }}</td><td>{{ row.answered_p95 }}</td>
<td>{{ row.retrieve }}</td><td>{{ row.generate }}</td><td>{{ row.server }}</td></tr>{% endfor %}
</table>

{% if judge_rows %}<h2>Judges</h2>
<table><tr><th>strategy</th>{% for judge in judges %}<th>{{ judge }}</th>{% endfor %}
<th>mean spread (max - min)</th><th>failed judgements</th></tr>
<tr><td class="muted" colspan="{{ judges|length + 3 }}">each judge: mean score (judged /
answered, coverage)</td></tr>
{% for row in judge_rows %}<tr><td>{{ row.strategy }}</td>
{% for value in row.means %}<td>{{ value }}</td>{% endfor %}
<td>{{ row.spread }}</td><td>{{ row.failed }}</td></tr>{% endfor %}</table>{% endif %}

{% if pairwise %}<h2>Pairwise judgements (each pair in both orders)</h2>
<table><tr><th>judge</th><th>pair</th><th>first wins / second wins / ties</th>
<th>unreadable</th><th>first preferred (ties half)</th><th>same winner in both orders</th>
<th>answer shown first won (50% = no position bias)</th></tr>
{% for row in pairwise %}<tr><td>{{ row.judge }}</td><td>{{ row.pair }}</td>
<td>{{ row.wins }}</td><td>{{ row.unreadable }}</td><td>{{ row.rate }}</td>
<td>{{ row.consistency }}</td><td>{{ row.bias }}</td></tr>{% endfor %}</table>{% endif %}

<h2>Score distributions</h2>
{{ plots.scores|safe if plots.scores else "<p>No scores.</p>"|safe }}
<h2>Latency distributions (to outcome, every request)</h2>
{{ plots.latency|safe if plots.latency else "<p>No latencies.</p>"|safe }}
<h2>Cost against quality</h2>
{{ plots.cost|safe if plots.cost else "<p>Not enough data.</p>"|safe }}
<h3>Monthly cost breakdown</h3>
{% for note in cost_notes %}<p class="muted">Note: {{ note }}.</p>{% endfor %}
<table><tr><th>strategy</th><th>item</th><th>USD / month</th><th>how</th></tr>
{% for line in cost_lines %}<tr><td>{{ line.strategy }}</td><td>{{ line.item }}</td>
<td>{{ line.monthly }}</td><td class="text">{{ line.detail }}</td></tr>{% endfor %}</table>

<h2>Pairwise tests</h2>
{% if repeats > 1 %}<p class="muted">Each question was asked {{ repeats }} times per strategy:
a question's value is the mean of its answers, intervals and tests resample questions. The last
column is the mean standard deviation between the answers to one question (first / second):
run-to-run noise, to read next to the difference between strategies.</p>{% endif %}
<table><tr><th>metric</th><th>pair</th><th>mean difference [95% CI]</th><th>p</th>
<th>p (Holm)</th><th>n</th>{% if repeats > 1 %}<th>within-question SD</th>{% endif %}</tr>
{% for test in tests %}<tr><td>{{ test.metric }}</td><td>{{ test.pair }}</td>
<td>{{ test.difference }}</td><td>{{ test.p }}</td><td>{{ test.adjusted }}</td>
<td>{{ test.n }}</td>{% if repeats > 1 %}<td>{{ test.spread }}</td>{% endif %}</tr>
{% endfor %}</table>

<h2>Failed samples ({{ failed|length }})</h2>
{% if failed %}<table><tr><th>strategy</th><th>question</th><th>attempts</th><th>error</th></tr>
{% for sample in failed %}<tr><td>{{ sample.strategy }}</td>
<td class="text">{{ sample.question }}</td><td>{{ sample.attempts }}</td>
<td class="text">{{ sample.error }}</td></tr>{% endfor %}
</table>{% else %}<p>None.</p>{% endif %}
<h2>Per question: missed facts and invented figures</h2>
{% for strategy in drill_downs %}<details><summary>{{ strategy.strategy }}:
{{ strategy.shown|length }} of {{ strategy.answers }} answers missed a fact or invented a
figure</summary>
<table><tr><th>#</th><th>question</th><th>reference</th><th>answer</th><th>sources</th>
<th>missed facts (where)</th><th>invented figures</th></tr>
{% for row in strategy.shown %}<tr>
<td>{{ row.index }}{% if row.repeat %}.{{ row.repeat }}{% endif %}</td>
<td class="text">{{ row.question }}</td><td class="text">{{ row.reference }}</td>
<td class="text">{{ row.answer }}</td>
<td class="text">{% for source in row.sources %}{{ source }}<br>{% endfor %}</td>
<td class="text">{% for missed in row.missed %}{{ missed }}<br>{% endfor %}</td>
<td class="text">{{ row.invented }}</td></tr>{% endfor %}</table></details>{% endfor %}
<p class="muted">Backends: {{ manifest.backends }}</p>
</body></html>
"""
