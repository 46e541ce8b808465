"""Answering with one strategy, or all of them: the plain functions both API dialects call."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator

from app.core.errors import INTERNAL_ERROR_MESSAGE, ModelNotFound, ServiceError
from app.http.error_body import error_detail
from app.http.schemas import AnswerRequest, AnswerResponse, CompareResponse, ErrorDetail
from app.http.sse import SSE_MEDIA_TYPE
from app.settings import Settings
from app.strategies.conversation import conversation_query
from app.strategies.runner import (
    PassagesFound,
    Strategy,
    StrategyEvent,
    StrategyQuery,
    StrategyResult,
    run_strategy,
    stream_strategy,
)
from app.wiring.compose import Composition

logger = logging.getLogger(__name__)


def query_from_request(body: AnswerRequest, settings: Settings) -> StrategyQuery:
    """The request's conversation (its question as one turn) and overrides over the settings."""
    return conversation_query(
        body.turns(),
        settings,
        top_k=body.top_k,
        max_tokens=body.max_tokens,
        temperature=body.temperature,
    )


def wants_stream(body: AnswerRequest, accept_header: str | None) -> bool:
    return body.stream or SSE_MEDIA_TYPE in (accept_header or "")


def strategy_named(composition: Composition, name: str) -> Strategy:
    strategy = composition.strategies.get(name)
    if strategy is None:
        known = ", ".join(composition.strategies)
        raise ModelNotFound(f"the model {name!r} does not exist; the models are: {known}")
    return strategy


async def answer(name: str, query: StrategyQuery, composition: Composition) -> StrategyResult:
    return await run_strategy(strategy_named(composition, name), query)


async def open_stream(
    name: str, query: StrategyQuery, composition: Composition, *, until_text: bool = False
) -> tuple[StrategyEvent, AsyncGenerator[StrategyEvent, None]]:
    """The strategy's events, the first one awaited here: a failure before any byte is sent is
    a normal error response, not a stream that ends at once. `until_text`: the passages are not
    an event of their own (OpenAI's chunks), so the model's first words are awaited too."""
    events = stream_strategy(strategy_named(composition, name), query)
    try:
        first = await anext(events)
        while until_text and isinstance(first, PassagesFound):
            first = await anext(events)
    except BaseException:
        await events.aclose()
        raise
    return first, events


async def compare(
    query: StrategyQuery, composition: Composition, request_id: str
) -> CompareResponse:
    """Every strategy concurrently; one failing does not hide the others."""
    names = list(composition.strategies)
    outcomes = await asyncio.gather(
        *(answer(name, query, composition) for name in names), return_exceptions=True
    )
    results: dict[str, AnswerResponse] = {}
    errors: dict[str, ErrorDetail] = {}
    for name, outcome in zip(names, outcomes, strict=True):
        if isinstance(outcome, StrategyResult):
            results[name] = AnswerResponse.from_result(outcome, request_id)
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
