"""Request and response bodies of the HTTP API: the contract that clients rely on."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.core.types import Passage
from app.generators.limits import describe_max_tokens_limits, describe_temperature_limits
from app.strategies.runner import StrategyResult

QUESTION_EXAMPLE = "What hydraulic pressure does the press run at?"


class AnswerRequest(BaseModel):
    """A customer's question and optional generation overrides."""

    model_config = ConfigDict(
        extra="forbid",
        # The schema's types, not look-alikes: "stream": 0 or "top_k": "5" is a client bug.
        strict=True,
        json_schema_extra={
            "examples": [
                {"question": QUESTION_EXAMPLE},
                {"question": QUESTION_EXAMPLE, "top_k": 5, "max_tokens": 200, "temperature": 0.0},
                {"question": QUESTION_EXAMPLE, "stream": True},
            ]
        },
    )

    question: str = Field(
        min_length=1, max_length=4000, description="The question, in plain language."
    )
    top_k: int | None = Field(
        None, ge=1, le=20, description="Passages to retrieve (rag and hybrid)."
    )
    max_tokens: int | None = Field(None, ge=1, le=2048, description=describe_max_tokens_limits())
    temperature: float | None = Field(
        None, ge=0.0, le=2.0, description=describe_temperature_limits()
    )
    stream: bool = Field(
        False, description="Answer as Server-Sent Events (also: Accept: text/event-stream)."
    )

    @field_validator("top_k", "max_tokens", mode="before")
    @classmethod
    def _whole_number(cls, value: object) -> object:
        """JSON Schema counts 5.0 as an integer; strict mode alone would refuse it."""
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return value


class Source(BaseModel):
    id: str
    title: str = Field(description="The product the passage belongs to.")
    text: str
    score: float
    location: str = Field(description="Where the passage came from: file and section, or S3 URI.")

    @classmethod
    def from_passage(cls, passage: Passage) -> Source:
        return cls.model_validate(source_fields(passage))


class Usage(BaseModel):
    input_tokens: int
    output_tokens: int
    estimated: bool = Field(
        False, description="True when the backend did not report tokens and they were counted here."
    )
    context_truncated: bool = Field(
        False,
        description="True when the model's context length forced retrieved passages out of the "
        "prompt or cut one short.",
    )
    passages_retrieved: int = Field(0, description="Passages the retriever returned.")
    passages_kept: int = Field(
        0, description="Passages quoted in the prompt (whole or by their relevant sentences)."
    )
    input_tokens_saved: int = Field(
        0,
        description="Prompt tokens the whole retrieved passages would have taken beyond the "
        "prompt sent (sentence selection and truncation; estimated for remote models).",
    )


class Timings(BaseModel):
    retrieve: float = Field(description="Milliseconds spent retrieving.")
    generate: float = Field(description="Milliseconds spent generating.")
    total: float = Field(description="Milliseconds in the strategy, end to end.")


class AnswerResponse(BaseModel):
    strategy: str = Field(description="The strategy that answered: rag, finetuned, hybrid...")
    answer: str
    sources: list[Source]
    model: str
    usage: Usage
    timings_ms: Timings
    request_id: str

    @classmethod
    def from_result(cls, result: StrategyResult, request_id: str) -> AnswerResponse:
        return cls.model_validate(answer_fields(result, request_id))


def source_fields(passage: Passage) -> dict[str, Any]:
    """A `Source` as JSON values."""
    return {
        "id": passage.id,
        "title": passage.title,
        "text": passage.text,
        "score": float(passage.score),
        "location": passage.location,
    }


def answer_fields(result: StrategyResult, request_id: str) -> dict[str, Any]:
    """An `AnswerResponse` as JSON values: what a route serializes as it is (our own values:
    validating them into models first would cost every request); tests/http check it against
    the model."""
    generation, context, timings = result.generation, result.context, result.timings
    return {
        "strategy": result.strategy,
        "answer": generation.text,
        "sources": [source_fields(passage) for passage in result.passages],
        "model": generation.model,
        "usage": {
            "input_tokens": generation.usage.input_tokens,
            "output_tokens": generation.usage.output_tokens,
            "estimated": generation.usage.estimated,
            "context_truncated": context.truncated,
            "passages_retrieved": context.passages_retrieved,
            "passages_kept": context.passages_kept,
            "input_tokens_saved": context.input_tokens_saved,
        },
        "timings_ms": {
            "retrieve": round(timings.retrieve_ms, 3),
            "generate": round(timings.generate_ms, 3),
            "total": round(timings.total_ms, 3),
        },
        "request_id": request_id,
    }


class ErrorDetail(BaseModel):
    code: str
    message: str
    request_id: str


class ErrorResponse(BaseModel):
    error: ErrorDetail


class CompareResponse(BaseModel):
    """Every strategy on one question; one that failed is in `errors`, not `results`."""

    question: str
    results: dict[str, AnswerResponse]
    errors: dict[str, ErrorDetail]
    request_id: str


class HealthResponse(BaseModel):
    status: str = "ok"


class BackendInfo(BaseModel):
    retriever: str
    generator: str
    tuned_generator: str
    models: dict[str, str]


class AdapterProgress(BaseModel):
    """The tuned model's LoRA adapter, while it is not serving yet (`make run` trains it in the
    background): the tuned strategies answer 503 adapter_training until it lands."""

    status: str = Field(description="One line: `training, step 12 of 80, about 95 s left`.")
    state: str | None = None
    step: int | None = None
    total_steps: int | None = None
    eta_s: float | None = None


class ReadyResponse(BaseModel):
    ready: bool
    backends: BackendInfo | None = None
    adapter: AdapterProgress | None = Field(
        None, description="Present while the tuned model waits for its adapter."
    )
    detail: str | None = None
    circuits: dict[str, Literal["closed", "half_open", "open"]] = Field(
        default_factory=dict,
        description="Circuit of each backend: open means calls are refused while it recovers.",
    )
