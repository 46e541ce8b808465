"""The answer body is built from our own values without validating them again: it must still be
what the schema documents, field for field."""

from __future__ import annotations

from app.context import ContextReport
from app.generators.base import Generation, TokenUsage
from app.http.schemas import AnswerResponse
from app.retrievers.base import Passage
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
    passages=[PASSAGE],
    generation=Generation("Every 4,000 hours.", "base", TokenUsage(120, 6, estimated=True)),
    timings=StageTimings(retrieve_ms=1.23456, generate_ms=20.0, total_ms=21.23456),
    context=ContextReport(passages_retrieved=3, passages_kept=1, input_tokens_saved=80),
)


def test_the_built_answer_is_the_one_validating_its_json_gives() -> None:
    built = AnswerResponse.from_result(RESULT, "req-1")
    body = built.model_dump_json()
    assert AnswerResponse.model_validate_json(body).model_dump_json() == body
    assert '"score":1.0' in body
    assert '"retrieve":1.235' in body
    assert '"input_tokens_saved":80' in body
