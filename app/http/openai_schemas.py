"""OpenAI's chat completions and models formats, as far as the strategies serve them.

The shapes follow OpenAI's API reference (Chat Completions, Models, error objects); `sources` is
fm-tailor's one addition, on a response and on the stream's final chunk.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.core.types import ChatMessage
from app.http.schemas import Source

OpenAIRole = Literal["system", "developer", "user", "assistant"]


class OpenAIError(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class OpenAIErrorResponse(BaseModel):
    error: OpenAIError


class TextPart(BaseModel):
    """A text part of a message's content (frontends send content as a list of parts)."""

    model_config = ConfigDict(extra="ignore")

    type: Literal["text"]
    text: str


class ChatCompletionMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: OpenAIRole
    content: str | list[TextPart]
    name: str | None = Field(None, description="Accepted and ignored.")

    def as_turn(self) -> ChatMessage:
        """`developer` is OpenAI's newer name for `system`; text parts are joined."""
        content = (
            self.content
            if isinstance(self.content, str)
            else "\n".join(part.text for part in self.content)
        )
        return ChatMessage("system" if self.role == "developer" else self.role, content)


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    include_usage: bool = False


class ResponseFormat(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["text"] = Field(description="Only plain text is served.")


class ChatCompletionRequest(BaseModel):
    """`POST /v1/chat/completions`: `model` names a strategy of the table (`GET /v1/models`).

    Fields a client commonly sends with neutral values (`n: 1`, `user`, penalties of 0,
    `logprobs: false`, a text `response_format`) are accepted; any other field is a 400.
    """

    model_config = ConfigDict(extra="forbid")

    model: str = Field(description="A strategy: `GET /v1/models` lists them (rag, finetuned...).")
    messages: list[ChatCompletionMessage] = Field(
        min_length=1, description="The conversation, ending with the user's question."
    )
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(None, ge=1, le=2048)
    max_completion_tokens: int | None = Field(None, ge=1, le=2048)
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    top_p: float | None = Field(None, ge=0.0, le=1.0)
    stop: str | Annotated[list[str], Field(max_length=4)] | None = Field(
        None, description="A text, or up to 4 texts, that end the answer."
    )
    # Neutral values only: one choice, no penalties, no log probabilities.
    n: int | None = Field(None, ge=1, le=1, description="Only 1.")
    user: str | None = Field(None, description="Accepted and ignored.")
    frequency_penalty: float | None = Field(None, ge=0, le=0, description="Only 0.")
    presence_penalty: float | None = Field(None, ge=0, le=0, description="Only 0.")
    logprobs: Literal[False] | None = Field(None, description="Only false.")
    response_format: ResponseFormat | None = None

    def stop_texts(self) -> tuple[str, ...]:
        if self.stop is None:
            return ()
        return (self.stop,) if isinstance(self.stop, str) else tuple(self.stop)

    def answer_tokens(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens

    def turns(self) -> list[ChatMessage]:
        return [message.as_turn() for message in self.messages]


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str
    refusal: None = None


FinishReason = Literal["stop", "length"]


class Choice(BaseModel):
    index: int = 0
    message: AssistantMessage
    finish_reason: FinishReason
    logprobs: None = None


class CompletionUsage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: CompletionUsage
    system_fingerprint: None = None
    sources: list[Source] = Field(
        description="fm-tailor: the catalog passages the answer was given (empty for finetuned)."
    )


class ChunkDelta(BaseModel):
    role: Literal["assistant"] | None = None
    content: str | None = None


class ChunkChoice(BaseModel):
    index: int = 0
    delta: ChunkDelta
    finish_reason: FinishReason | None = None
    logprobs: None = None


class ChatCompletionChunk(BaseModel):
    """One `data:` event of a stream; the last one with a choice carries `finish_reason` and
    `sources`; with `stream_options.include_usage`, a final chunk with no choice has `usage`."""

    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: CompletionUsage | None = None
    sources: list[Source] | None = None


class Model(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "fm-tailor"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[Model]
