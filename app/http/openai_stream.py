"""The strategies' answers in OpenAI's chat completion format, whole or as chunks."""

from __future__ import annotations

import time

from app.core.errors import ServiceError
from app.generators.base import TextDelta
from app.http.error_body import openai_error
from app.http.openai_schemas import (
    AssistantMessage,
    ChatCompletion,
    ChatCompletionChunk,
    Choice,
    ChunkChoice,
    ChunkDelta,
    CompletionUsage,
    FinishReason,
    OpenAIErrorResponse,
)
from app.http.schemas import Source
from app.http.sse import sse_frame
from app.strategies.runner import PassagesFound, StrategyEvent, StrategyResult

DONE_FRAME = b"data: [DONE]\n\n"


def completion_id(request_id: str) -> str:
    return f"chatcmpl-{request_id}"


def finish_reason(result: StrategyResult) -> FinishReason:
    return "length" if result.generation.finish_reason == "length" else "stop"


def completion_usage(result: StrategyResult) -> CompletionUsage:
    usage = result.generation.usage
    return CompletionUsage(
        prompt_tokens=usage.input_tokens,
        completion_tokens=usage.output_tokens,
        total_tokens=usage.input_tokens + usage.output_tokens,
    )


def chat_completion(result: StrategyResult, model: str, request_id: str) -> ChatCompletion:
    return ChatCompletion(
        id=completion_id(request_id),
        created=int(time.time()),
        model=model,
        choices=[
            Choice(
                message=AssistantMessage(content=result.generation.text),
                finish_reason=finish_reason(result),
            )
        ],
        usage=completion_usage(result),
        sources=[Source.from_passage(passage) for passage in result.passages],
    )


class ChunkEvents:
    """`chat.completion.chunk` frames: the role first, a chunk per delta, the finish with the
    sources, the usage when asked for, then `[DONE]`; a failure is an `error` object, which
    OpenAI's SDKs raise."""

    def __init__(self, model: str, request_id: str, include_usage: bool) -> None:
        self.model = model
        self.id = completion_id(request_id)
        self.created = int(time.time())
        self.include_usage = include_usage
        self.started = False

    def _chunk(self, choices: list[ChunkChoice], **extra: object) -> bytes:
        chunk = ChatCompletionChunk(
            id=self.id, created=self.created, model=self.model, choices=choices, **extra
        )
        return sse_frame(chunk.model_dump_json(exclude_none=True))

    def _opening(self) -> bytes:
        if self.started:
            return b""
        self.started = True
        return self._chunk([ChunkChoice(delta=ChunkDelta(role="assistant", content=""))])

    def encode(self, event: StrategyEvent) -> bytes:
        if isinstance(event, PassagesFound):
            return self._opening()  # the sources travel on the final chunk
        if isinstance(event, TextDelta):
            return self._opening() + self._chunk(
                [ChunkChoice(delta=ChunkDelta(content=event.text))]
            )
        assert isinstance(event, StrategyResult)
        sources = [Source.from_passage(passage) for passage in event.passages]
        finish = ChunkChoice(delta=ChunkDelta(), finish_reason=finish_reason(event))
        frames = [self._opening(), self._chunk([finish], sources=sources)]
        if self.include_usage:
            frames.append(self._chunk([], usage=completion_usage(event)))
        frames.append(DONE_FRAME)
        return b"".join(frames)

    def error(self, error: ServiceError) -> bytes:
        return sse_frame(OpenAIErrorResponse(error=openai_error(error)).model_dump_json())
