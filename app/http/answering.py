"""Answering a request with one strategy, or all of them: plain functions the routes call."""

from __future__ import annotations

import asyncio
import logging

import orjson

from app.core.errors import INTERNAL_ERROR_MESSAGE, ServiceError
from app.generators.base import GenerationParams
from app.http.error_body import error_detail
from app.http.schemas import (
    AnswerRequest,
    AnswerResponse,
    CompareResponse,
    ErrorDetail,
    answer_fields,
)
from app.http.sse import SSE_MEDIA_TYPE, ClosingStreamingResponse, sse_stream
from app.settings import Settings
from app.strategies.runner import StrategyQuery, run_strategy, stream_strategy
from app.wiring.compose import Composition

logger = logging.getLogger(__name__)


def query_from_request(body: AnswerRequest, settings: Settings) -> StrategyQuery:
    """The request's overrides over the settings' defaults."""
    return StrategyQuery(
        question=body.question,
        top_k=body.top_k or settings.retrieval.top_k,
        params=GenerationParams(
            max_tokens=body.max_tokens or settings.generation.max_tokens,
            temperature=(
                body.temperature
                if body.temperature is not None
                else settings.generation.temperature
            ),
        ),
    )


def wants_stream(body: AnswerRequest, accept_header: str | None) -> bool:
    return body.stream or SSE_MEDIA_TYPE in (accept_header or "")


async def answer(
    name: str, query: StrategyQuery, composition: Composition, request_id: str
) -> AnswerResponse:
    result = await run_strategy(composition.strategies[name], query)
    return AnswerResponse.from_result(result, request_id)


async def answer_body(
    name: str, query: StrategyQuery, composition: Composition, request_id: str
) -> bytes:
    """`answer` as the JSON body `AnswerResponse` documents, serialized in one step."""
    result = await run_strategy(composition.strategies[name], query)
    return orjson.dumps(answer_fields(result, request_id))


async def answer_streaming(
    name: str, query: StrategyQuery, composition: Composition, request_id: str
) -> ClosingStreamingResponse:
    """An SSE response; the first event is awaited here so an early failure is a normal error."""
    events = stream_strategy(composition.strategies[name], query)
    first = await anext(events)
    return ClosingStreamingResponse(
        sse_stream(first, events, request_id),
        media_type=SSE_MEDIA_TYPE,
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def compare(
    query: StrategyQuery, composition: Composition, request_id: str
) -> CompareResponse:
    """Every strategy concurrently; one failing does not hide the others."""
    names = list(composition.strategies)
    outcomes = await asyncio.gather(
        *(answer(name, query, composition, request_id) for name in names),
        return_exceptions=True,
    )
    results: dict[str, AnswerResponse] = {}
    errors: dict[str, ErrorDetail] = {}
    for name, outcome in zip(names, outcomes, strict=True):
        if isinstance(outcome, AnswerResponse):
            results[name] = outcome
        elif isinstance(outcome, ServiceError):
            logger.warning(
                "compare: %s failed: %s", name, outcome.log_text(), extra={"code": outcome.code}
            )
            errors[name] = error_detail(outcome, request_id)
        elif isinstance(outcome, Exception):
            logger.error("compare: %s failed", name, exc_info=outcome)
            errors[name] = error_detail(ServiceError(INTERNAL_ERROR_MESSAGE), request_id)
        else:
            raise outcome
    if not results:
        first_error = next(o for o in outcomes if isinstance(o, BaseException))
        raise first_error
    return CompareResponse(
        question=query.question, results=results, errors=errors, request_id=request_id
    )
