"""One serializer per answer: `AnswerResponse.from_result` is what every route, the SSE `done`
event and /compare send, whatever types the backends' values came in."""

from __future__ import annotations

import json
from dataclasses import replace

from app.context import ContextReport
from app.core.types import Passage, TokenUsage
from app.generators.base import Generation
from app.http.schemas import AnswerResponse
from app.strategies.runner import StageTimings, StrategyResult

PASSAGE = Passage(
    id="kx-oil",
    title="Kestrel KX-420 Hydraulic Press",
    text="Change the hydraulic oil every 4,000 hours.",
    score=1,  # a retriever may score with an int: the schema says float
    location="catalog.txt#KX-420/Maintenance/1",
)
RESULT = StrategyResult(
    strategy="rag",
    passages=[PASSAGE, replace(PASSAGE, id="tiny", score=1e-7)],
    generation=Generation(
        "Toutes les 4 000 heures — «\u00a0ou une fois par an\u00a0».\n\u2028",
        "base",
        TokenUsage(120, 6, estimated=True),
    ),
    timings=StageTimings(retrieve_ms=1.23456, generate_ms=20.0, total_ms=21.23456),
    context=ContextReport(passages_retrieved=3, passages_kept=1, input_tokens_saved=80, turns=3),
)


def test_the_answer_is_serialized_with_the_documented_types_and_rounding() -> None:
    body = json.loads(AnswerResponse.from_result(RESULT, "req-1").model_dump_json())

    assert body["sources"][0]["score"] == 1.0
    assert isinstance(body["sources"][0]["score"], float)
    assert body["timings_ms"] == {"retrieve": 1.235, "generate": 20.0, "total": 21.235}
    assert body["answer"] == RESULT.generation.text
    assert body["usage"]["turns"] == 3
    assert body["usage"]["input_tokens_saved"] == 80
    assert body["request_id"] == "req-1"


def test_every_field_of_the_documented_answer_is_served() -> None:
    served = json.loads(AnswerResponse.from_result(RESULT, "req-1").model_dump_json())
    assert set(served) == set(AnswerResponse.model_fields)
    schema = AnswerResponse.model_json_schema()
    for name, nested in (("usage", "Usage"), ("timings_ms", "Timings")):
        assert set(served[name]) == set(schema["$defs"][nested]["properties"])
    assert set(served["sources"][0]) == set(schema["$defs"]["Source"]["properties"])
