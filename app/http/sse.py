"""Server-Sent Events framing of a streamed strategy: sources, deltas, then the full response."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from app.errors import ServiceError
from app.generators.base import TextDelta
from app.http.schemas import AnswerResponse, ErrorDetail, Source
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
        sources = [
            Source(
                id=p.id, title=p.title, text=p.text, score=p.score, location=p.location
            ).model_dump()
            for p in event.passages
        ]
        report = event.context
        context = {
            "truncated": report.truncated,
            "passages_retrieved": report.passages_retrieved,
            "passages_kept": report.passages_kept,
        }
        return format_event("sources", {"sources": sources, "context": context})
    assert isinstance(event, StrategyResult)
    return format_event("done", AnswerResponse.from_result(event, request_id).model_dump())


async def sse_stream(
    first: StrategyEvent, rest: AsyncIterator[StrategyEvent], request_id: str
) -> AsyncIterator[bytes]:
    """Frames for an event stream whose first event already arrived.

    A failure after the first byte cannot change the status code any more, so it is sent as an
    `error` event carrying the same JSON as an error response.
    """
    yield encode_event(first, request_id)
    try:
        async for event in rest:
            yield encode_event(event, request_id)
    except ServiceError as error:
        logger.warning("stream failed: %s", error.message, extra={"code": error.code})
        detail = ErrorDetail(code=error.code, message=error.message, request_id=request_id)
        yield format_event("error", {"error": detail.model_dump()})
