"""Request and response bodies of the HTTP API: the contract that clients rely on."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator, model_validator

from app.core.types import ChatMessage, Passage, Role
from app.generators.limits import describe_max_tokens_limits, describe_temperature_limits
from app.strategies.runner import StrategyResult

QUESTION_EXAMPLE = "What hydraulic pressure does the press run at?"
CONVERSATION_EXAMPLE: list[JsonValue] = [
    {"role": "user", "content": "What hydraulic pressure does the Kestrel KX-420 run at?"},
    {"role": "assistant", "content": "21 MPa (210 bar) at most."},
    {"role": "user", "content": "And what does E-33 mean?"},
]


class Message(BaseModel):
    """One turn of a conversation, in OpenAI's roles."""

    model_config = ConfigDict(extra="forbid", strict=True)

    role: Role = Field(description="system, user or assistant.")
    content: str = Field(description="The turn's text.")


class AnswerRequest(BaseModel):
    """A customer's question, or a conversation ending with one, and optional overrides."""

    model_config = ConfigDict(
        extra="forbid",
        # The schema's types, not look-alikes: "stream": 0 or "top_k": "5" is a client bug.
        strict=True,
        json_schema_extra={
            # Exactly one of the two, not null (null is as good as leaving it out).
            "oneOf": [
                {"required": ["question"], "properties": {"question": {"type": "string"}}},
                {"required": ["messages"], "properties": {"messages": {"type": "array"}}},
            ],
            "examples": [
                {"question": QUESTION_EXAMPLE},
                {"question": QUESTION_EXAMPLE, "top_k": 5, "max_tokens": 200, "temperature": 0.0},
                {"question": QUESTION_EXAMPLE, "stream": True},
                {"messages": CONVERSATION_EXAMPLE},
            ],
        },
    )

    question: str | None = Field(
        None,
        min_length=1,
        max_length=4000,
        description="The question, in plain language (or send `messages`).",
    )
    messages: list[Message] | None = Field(
        None,
        min_length=1,
        description="A conversation ending with the user's question (instead of `question`): "
        "retrieval resolves a follow-up to the products of the earlier turns, and the model "
        "sees the recent turns. Limits: FMT_CONVERSATION__MAX_TURNS and __MAX_CHARS.",
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

    @model_validator(mode="after")
    def _question_or_messages(self) -> AnswerRequest:
        if (self.question is None) == (self.messages is None):
            raise ValueError("send exactly one of `question` (a string) or `messages` (a list)")
        return self

    def turns(self) -> list[ChatMessage]:
        """The conversation: `messages`, or the question as one user turn."""
        if self.messages is None:
            return [ChatMessage("user", self.question or "")]
        return [ChatMessage(message.role, message.content) for message in self.messages]


class Source(BaseModel):
    id: str
    title: str = Field(description="The product the passage belongs to.")
    text: str
    score: float
    location: str = Field(description="Where the passage came from: file and section, or S3 URI.")

    @classmethod
    def from_passage(cls, passage: Passage) -> Source:
        return cls(
            id=passage.id,
            title=passage.title,
            text=passage.text,
            score=float(passage.score),
            location=passage.location,
        )


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
    turns: int = Field(
        1,
        description="Turns of the conversation the model saw, the question included: earlier "
        "turns beyond FMT_CONVERSATION__HISTORY_TURNS or the context length are left out.",
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
    finish_reason: str | None = Field(
        description="Why the answer ended: stop (the model ended its turn or met a stop string), "
        "length (max_tokens or the context's end), repetition (the decode began to repeat a "
        "sentence or list item and was cut before the repeat), or the backend's own word; null "
        "when the backend gave none."
    )
    usage: Usage
    timings_ms: Timings
    request_id: str

    @classmethod
    def from_result(cls, result: StrategyResult, request_id: str) -> AnswerResponse:
        """The one serializer of an answer: JSON responses, the SSE `done` event, /compare."""
        generation, context, timings = result.generation, result.context, result.timings
        return cls(
            strategy=result.strategy,
            answer=generation.text,
            sources=[Source.from_passage(passage) for passage in result.passages],
            model=generation.model,
            finish_reason=generation.finish_reason,
            usage=Usage(
                input_tokens=generation.usage.input_tokens,
                output_tokens=generation.usage.output_tokens,
                estimated=generation.usage.estimated,
                context_truncated=context.truncated,
                passages_retrieved=context.passages_retrieved,
                passages_kept=context.passages_kept,
                input_tokens_saved=context.input_tokens_saved,
                turns=context.turns,
            ),
            timings_ms=Timings(
                retrieve=round(timings.retrieve_ms, 3),
                generate=round(timings.generate_ms, 3),
                total=round(timings.total_ms, 3),
            ),
            request_id=request_id,
        )


class ContextInfo(BaseModel):
    truncated: bool
    passages_retrieved: int
    passages_kept: int


class SourcesEvent(BaseModel):
    """The `sources` event of a stream: the passages the prompt quotes, before any text."""

    sources: list[Source]
    context: ContextInfo


class DeltaEvent(BaseModel):
    """A `delta` event of a stream: the next piece of the answer."""

    text: str


class ErrorDetail(BaseModel):
    code: str
    message: str
    request_id: str


class ErrorResponse(BaseModel):
    error: ErrorDetail


class CompareResponse(BaseModel):
    """Every strategy on one question; one that failed is in `errors`, not `results`."""

    question: str = Field(description="The question: the conversation's last user turn.")
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
