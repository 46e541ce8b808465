"""The answer body is serialized from plain values, not from the models that document it: it must
be what the schema says, field for field, whatever types the backends' values came in."""

from __future__ import annotations

import json
from dataclasses import replace

import orjson

from app.context import ContextReport
from app.core.types import Passage, TokenUsage
from app.generators.base import Generation
from app.http.schemas import AnswerResponse, answer_fields
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
    context=ContextReport(passages_retrieved=3, passages_kept=1, input_tokens_saved=80),
)


def test_the_served_body_is_the_documented_answer_value_for_value() -> None:
    body = orjson.dumps(answer_fields(RESULT, "req-1"))
    documented = AnswerResponse.from_result(RESULT, "req-1")
    assert AnswerResponse.model_validate_json(body) == documented
    assert json.loads(body) == json.loads(documented.model_dump_json())
    assert json.loads(body)["sources"][0]["score"] == 1.0
    assert isinstance(json.loads(body)["sources"][0]["score"], float)
    assert json.loads(body)["timings_ms"] == {"retrieve": 1.235, "generate": 20.0, "total": 21.235}


def test_every_field_of_the_documented_answer_is_served() -> None:
    served = json.loads(orjson.dumps(answer_fields(RESULT, "req-1")))
    assert set(served) == set(AnswerResponse.model_fields)
    schema = AnswerResponse.model_json_schema()
    for name, nested in (("usage", "Usage"), ("timings_ms", "Timings")):
        assert set(served[name]) == set(schema["$defs"][nested]["properties"])
    assert set(served["sources"][0]) == set(schema["$defs"]["Source"]["properties"])
