"""The service's HTTP contract as this runner reads it: its own types, not the service's.

The runner is installed without the service (`pip install '.[eval]'`), so it cannot import
`app`; tests/eval/test_contract.py checks these models against the service's OpenAPI document.
Unknown fields are ignored, so a service that adds fields keeps working with an older runner.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Reply(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Source(_Reply):
    id: str
    title: str
    text: str
    score: float
    location: str


class Usage(_Reply):
    input_tokens: int
    output_tokens: int
    estimated: bool = False


class Timings(_Reply):
    retrieve: float
    generate: float
    total: float


class AnswerResponse(_Reply):
    """`POST /rag | /finetuned | /hybrid`, status 200."""

    strategy: str
    answer: str
    sources: list[Source]
    model: str
    usage: Usage
    timings_ms: Timings
    request_id: str
    finish_reason: str | None = None
    """`stop`, `length` (ran to max_tokens) or `repetition`; absent from older services."""


class ErrorDetail(_Reply):
    code: str
    message: str
    request_id: str


class ErrorResponse(_Reply):
    """Every error status: `{"error": {"code", "message", "request_id"}}`."""

    error: ErrorDetail


class BackendInfo(_Reply):
    retriever: str
    generator: str
    tuned_generator: str
    models: dict[str, str]


class ReadyResponse(BaseModel):
    """`GET /ready`; fields the runner does not know are kept, so the manifest records them."""

    model_config = ConfigDict(extra="allow")

    ready: bool
    backends: BackendInfo | None = None
    detail: str | None = None
    circuits: dict[str, Literal["closed", "half_open", "open"]] = Field(default_factory=dict)


class ChatTurn(BaseModel):
    """One turn of a conversation, in OpenAI's roles."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Literal["system", "user", "assistant"]
    content: str = Field(min_length=1)


def answer_request(question: str | None, messages: list[ChatTurn] | None) -> dict[str, Any]:
    """The body of `POST /<strategy>`: `question`, or a conversation as `messages`."""
    if messages:
        return {"messages": [turn.model_dump() for turn in messages]}
    return {"question": question}
