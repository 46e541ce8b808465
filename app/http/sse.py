"""Server-Sent Events of a streamed strategy: one stream loop, an encoder per API dialect.

The native dialect sends `sources`, `delta` events, then `done` with the full response; the
OpenAI dialect (`app.http.openai_stream`) sends `chat.completion.chunk`s and `[DONE]`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import Protocol

import anyio
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from app.core.errors import INTERNAL_ERROR_MESSAGE, ServiceError
from app.generators.base import TextDelta
from app.http.error_body import error_detail
from app.http.schemas import (
    AnswerResponse,
    ContextInfo,
    DeltaEvent,
    ErrorResponse,
    Source,
    SourcesEvent,
)
from app.strategies.runner import PassagesFound, StrategyEvent, StrategyResult

logger = logging.getLogger(__name__)

SSE_MEDIA_TYPE = "text/event-stream"
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def sse_frame(data: str, event: str | None = None) -> bytes:
    """One SSE frame; `data` is JSON on a single line."""
    named = f"event: {event}\n" if event is not None else ""
    return f"{named}data: {data}\n\n".encode()


class EventEncoder(Protocol):
    """Frames of one dialect: for each event of a strategy's stream, and for a failure."""

    def encode(self, event: StrategyEvent) -> bytes: ...

    def error(self, error: ServiceError) -> bytes: ...


class NativeEvents:
    """The contract's events: `sources`, `delta`, `done` (the full response) or `error`."""

    def __init__(self, request_id: str) -> None:
        self.request_id = request_id

    def encode(self, event: StrategyEvent) -> bytes:
        if isinstance(event, TextDelta):
            return sse_frame(DeltaEvent(text=event.text).model_dump_json(), "delta")
        if isinstance(event, PassagesFound):
            report = event.context
            sources = SourcesEvent(
                sources=[Source.from_passage(passage) for passage in event.passages],
                context=ContextInfo(
                    truncated=report.truncated,
                    passages_retrieved=report.passages_retrieved,
                    passages_kept=report.passages_kept,
                ),
            )
            return sse_frame(sources.model_dump_json(), "sources")
        assert isinstance(event, StrategyResult)
        done = AnswerResponse.from_result(event, self.request_id)
        return sse_frame(done.model_dump_json(), "done")

    def error(self, error: ServiceError) -> bytes:
        body = ErrorResponse(error=error_detail(error, self.request_id))
        return sse_frame(body.model_dump_json(), "error")


async def sse_stream(
    first: StrategyEvent, rest: AsyncGenerator[StrategyEvent, None], encoder: EventEncoder
) -> AsyncIterator[bytes]:
    """Frames for an event stream whose first event already arrived.

    A failure after the first byte cannot change the status code any more, so it is sent as an
    error event carrying the same JSON as an error response; whatever is raised, and wherever,
    the stream ends with its last event or an error. `rest` is closed on every way out.
    """
    async with aclosing(rest):
        yield encoder.encode(first)
        try:
            async for event in rest:
                yield encoder.encode(event)
        except ServiceError as error:
            logger.warning("stream failed: %s", error.log_text(), extra={"code": error.code})
            yield encoder.error(error)
        except Exception:
            logger.exception("stream failed unexpectedly")
            yield encoder.error(ServiceError(INTERNAL_ERROR_MESSAGE))


class ClosingStreamingResponse(StreamingResponse):
    """A StreamingResponse that closes its event generator as soon as the response ends.

    Starlette leaves a stream whose client went away to the garbage collector; closing it here,
    shielded from the cancellation that ended the response, gives back the backend's in-flight
    slot and half-open trial and stops a local generation at once.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            closer = getattr(self.body_iterator, "aclose", None)
            if closer is not None:
                with anyio.CancelScope(shield=True):
                    await closer()


def event_stream_response(
    first: StrategyEvent, rest: AsyncGenerator[StrategyEvent, None], encoder: EventEncoder
) -> ClosingStreamingResponse:
    return ClosingStreamingResponse(
        sse_stream(first, rest, encoder), media_type=SSE_MEDIA_TYPE, headers=SSE_HEADERS
    )
