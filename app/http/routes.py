"""HTTP routes: validate, call one function from `app.http.answering`, return a schema."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.http.answering import answer, compare, open_stream, query_from_request, wants_stream
from app.http.dependencies import AnsweringDep, ComparingDep
from app.http.disconnect import cancel_on_disconnect
from app.http.schemas import AnswerRequest, AnswerResponse, CompareResponse, ErrorResponse
from app.http.sse import SSE_MEDIA_TYPE, NativeEvents, event_stream_response
from app.strategies.table import StrategySpec

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse, "description": description}
    for code, description in {
        400: "Request body is not valid JSON text (e.g. not UTF-8).",
        401: "Missing or wrong API key.",
        413: "Request body too large.",
        415: "Request body is not JSON.",
        422: "Invalid request body, or an input the model cannot take (input_rejected).",
        429: "Rate limit exceeded; see Retry-After.",
        502: "A backend answered with something unusable.",
        503: "A backend is unavailable, throttled, or still loading.",
        504: "A backend timed out.",
    }.items()
}

_STREAM_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The answer as JSON, or as Server-Sent Events when streaming: "
        "`sources` (rag and hybrid), `delta` events with text, then `done` with the full JSON "
        "response; an `error` event if a backend fails mid-stream.",
        "content": {
            SSE_MEDIA_TYPE: {
                "schema": {
                    "type": "object",
                    "required": ["event", "data"],
                    "properties": {
                        "event": {"enum": ["sources", "delta", "done", "error"]},
                        "data": {"type": "string", "description": "The event's JSON."},
                    },
                }
            }
        },
    }
}

StrategyRoute = Callable[..., Awaitable[AnswerResponse | Response]]


def _strategy_route(name: str) -> StrategyRoute:
    async def route(
        body: AnswerRequest, request: Request, context: AnsweringDep
    ) -> AnswerResponse | Response:
        query = query_from_request(body, context.settings)
        if wants_stream(body, request.headers.get("accept")):
            first, events = await cancel_on_disconnect(
                request, open_stream(name, query, context.composition)
            )
            return event_stream_response(first, events, NativeEvents(context.request_id))
        result = await cancel_on_disconnect(request, answer(name, query, context.composition))
        return AnswerResponse.from_result(result, context.request_id)

    route.__name__ = f"answer_{name}"
    return route


async def compare_strategies(
    body: AnswerRequest, request: Request, context: ComparingDep
) -> CompareResponse:
    query = query_from_request(body, context.settings)
    work = compare(query, context.composition, context.request_id)
    return await cancel_on_disconnect(request, work)


def strategy_router(table: Sequence[StrategySpec]) -> APIRouter:
    """`POST /<name>` for each strategy of the table, and `POST /compare` for all of them."""
    router = APIRouter(tags=["strategies"], responses=ERROR_RESPONSES)
    for spec in table:
        router.add_api_route(
            f"/{spec.name}",
            _strategy_route(spec.name),
            methods=["POST"],
            response_model=AnswerResponse,
            responses=_STREAM_RESPONSE,
            summary=f"Answer with the {spec.name} strategy",
            description=spec.description,
        )
    router.add_api_route(
        "/compare",
        compare_strategies,
        methods=["POST"],
        response_model=CompareResponse,
        summary=f"Answer with all {len(table)} strategies concurrently",
    )
    return router
