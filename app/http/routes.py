"""HTTP routes: validate, call one function from `app.http.answering`, return a schema."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel

from app.core.request_id import request_id_of
from app.http.answering import (
    answer_body,
    answer_streaming,
    compare,
    query_from_request,
    wants_stream,
)
from app.http.auth import SECURITY_REQUIREMENT
from app.http.dependencies import admit_comparison, admit_request, ready_composition
from app.http.disconnect import cancel_on_disconnect
from app.http.schemas import (
    AnswerRequest,
    AnswerResponse,
    CompareResponse,
    ErrorResponse,
)
from app.http.sse import SSE_MEDIA_TYPE
from app.strategies.table import StrategySpec
from app.wiring.state import service_state

_ERRORS: dict[int | str, dict[str, Any]] = {
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

StrategyRoute = Callable[..., Awaitable[Response]]
JSON_MEDIA_TYPE = "application/json"


def json_response(body: BaseModel) -> Response:
    """The model as JSON, serialized once: FastAPI would validate a returned model again against
    `response_model` and serialize it through `jsonable_encoder`."""
    return Response(body.model_dump_json(), media_type=JSON_MEDIA_TYPE)


# Routes take only the body and the request, and reach the state through plain calls: each
# FastAPI dependency costs a resolution per request (measured in docs/performance.md).
def _strategy_route(name: str) -> StrategyRoute:
    async def route(body: AnswerRequest, request: Request) -> Response:
        state = service_state(request)
        composition = ready_composition(state)
        query = query_from_request(body, state.settings)
        request_id = request_id_of(request)
        if wants_stream(body, request.headers.get("accept")):
            return await cancel_on_disconnect(
                request, answer_streaming(name, query, composition, request_id)
            )
        work = answer_body(name, query, composition, request_id)
        return Response(await cancel_on_disconnect(request, work), media_type=JSON_MEDIA_TYPE)

    route.__name__ = f"answer_{name}"
    return route


async def compare_strategies(body: AnswerRequest, request: Request) -> Response:
    state = service_state(request)
    composition = ready_composition(state)
    query = query_from_request(body, state.settings)
    work = compare(query, composition, request_id_of(request))
    return json_response(await cancel_on_disconnect(request, work))


def add_strategy_routes(router: APIRouter, table: Sequence[StrategySpec]) -> None:
    """`POST /<name>` for each strategy of the table, and `POST /compare` for all of them.

    Added to the app's own router, not included from another one: FastAPI dispatches an included
    router's routes through extra layers on every request, and serves them with its own handler
    (measured in docs/performance.md).
    """
    common: dict[str, Any] = {
        "methods": ["POST"],
        "tags": ["strategies"],
        "dependencies": [Depends(admit_request)],
        "openapi_extra": {"security": SECURITY_REQUIREMENT},
    }
    for spec in table:
        router.add_api_route(
            f"/{spec.name}",
            _strategy_route(spec.name),
            response_model=AnswerResponse,
            responses={**_STREAM_RESPONSE, **_ERRORS},
            summary=f"Answer with the {spec.name} strategy",
            description=spec.description,
            **common,
        )
    router.add_api_route(
        "/compare",
        compare_strategies,
        response_model=CompareResponse,
        responses=_ERRORS,
        summary=f"Answer with all {len(table)} strategies concurrently",
        # It runs every strategy: it costs the client as many requests of its rate limit.
        **{**common, "dependencies": [Depends(admit_comparison)]},
    )
