"""Server-Sent Events framing of a streamed strategy: sources, deltas, then the full response."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import Any

import anyio
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from app.core.errors import INTERNAL_ERROR_MESSAGE, ServiceError
from app.generators.base import TextDelta
from app.http.error_body import error_detail
from app.http.schemas import AnswerResponse, Source
from app.strategies.runner import PassagesFound, StrategyEvent, StrategyResult

logger = logging.getLogger(__name__)

SSE_MEDIA_TYPE = "text/event-stream"


def format_event(event: str, data: Any) -> bytes:
    """One SSE frame; data is JSON on a single line."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


def encode_event(event: StrategyEvent, request_id: str) -> bytes:
    if isinstance(event, TextDelta):
        return format_event("delta", {"text": event.text})
    if isinstance(event, PassagesFound):
        sources = [Source.from_passage(passage).model_dump() for passage in event.passages]
        report = event.context
        context = {
            "truncated": report.truncated,
            "passages_retrieved": report.passages_retrieved,
            "passages_kept": report.passages_kept,
        }
        return format_event("sources", {"sources": sources, "context": context})
    assert isinstance(event, StrategyResult)
    return format_event("done", AnswerResponse.from_result(event, request_id).model_dump())


def error_event(error: ServiceError, request_id: str) -> bytes:
    return format_event("error", {"error": error_detail(error, request_id).model_dump()})


async def sse_stream(
    first: StrategyEvent, rest: AsyncGenerator[StrategyEvent, None], request_id: str
) -> AsyncIterator[bytes]:
    """Frames for an event stream whose first event already arrived.

    A failure after the first byte cannot change the status code any more, so it is sent as an
    `error` event carrying the same JSON as an error response; whatever is raised, and wherever,
    the stream ends with `done` or `error`. `rest` is closed on every way out.
    """
    async with aclosing(rest):
        yield encode_event(first, request_id)
        try:
            async for event in rest:
                yield encode_event(event, request_id)
        except ServiceError as error:
            logger.warning("stream failed: %s", error.log_text(), extra={"code": error.code})
            yield error_event(error, request_id)
        except Exception:
            logger.exception("stream failed unexpectedly")
            yield error_event(ServiceError(INTERNAL_ERROR_MESSAGE), request_id)


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
