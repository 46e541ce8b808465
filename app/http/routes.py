"""HTTP routes: validate, call one function from `app.http.answering`, return a schema."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from app.http.answering import answer, answer_streaming, compare, query_from_request, wants_stream
from app.http.dependencies import BackendsDep, SettingsDep, admit_request
from app.http.disconnect import cancel_on_disconnect
from app.http.schemas import (
    AnswerRequest,
    AnswerResponse,
    BackendInfo,
    CompareResponse,
    ErrorResponse,
    HealthResponse,
    ReadyResponse,
)
from app.http.security import authenticate
from app.http.sse import SSE_MEDIA_TYPE
from app.middleware.request_id import request_id_of
from app.observability import Metrics
from app.resilience.guards import circuit_states
from app.strategies.runner import STRATEGY_NAMES, StrategyName

router = APIRouter()

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse, "description": description}
    for code, description in {
        400: "Request body is not valid JSON text (e.g. not UTF-8).",
        401: "Missing or wrong API key.",
        413: "Request body too large.",
        415: "Request body is not JSON.",
        422: "Invalid request body.",
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

_DESCRIPTIONS: dict[StrategyName, str] = {
    "rag": "Retrieval-augmented generation: retrieve catalog passages, answer with the base model.",
    "finetuned": "The fine-tuned model answers from what it learned; no retrieval, no sources.",
    "hybrid": "Retrieve catalog passages and answer with the fine-tuned model.",
}

StrategyRoute = Callable[..., Awaitable[AnswerResponse | StreamingResponse]]


def _strategy_route(name: StrategyName) -> StrategyRoute:
    async def route(
        body: AnswerRequest,
        request: Request,
        settings: SettingsDep,
        backends: BackendsDep,
        accept: str | None = Header(None, include_in_schema=False),
    ) -> AnswerResponse | StreamingResponse:
        query = query_from_request(body, settings)
        request_id = request_id_of(request)
        work = (
            answer_streaming(name, query, backends, request_id)
            if wants_stream(body, accept)
            else answer(name, query, backends, request_id)
        )
        return await cancel_on_disconnect(request, work)

    route.__name__ = f"answer_{name}"
    return route


for _name in STRATEGY_NAMES:
    router.add_api_route(
        f"/{_name}",
        _strategy_route(_name),
        methods=["POST"],
        response_model=AnswerResponse,
        responses={**_STREAM_RESPONSE, **_ERRORS},
        summary=f"Answer with the {_name} strategy",
        description=_DESCRIPTIONS[_name],
        tags=["strategies"],
        dependencies=[Depends(admit_request)],
    )


@router.post(
    "/compare",
    response_model=CompareResponse,
    responses=_ERRORS,
    summary="Answer with all three strategies concurrently",
    tags=["strategies"],
    dependencies=[Depends(admit_request)],
)
async def compare_strategies(
    body: AnswerRequest, request: Request, settings: SettingsDep, backends: BackendsDep
) -> CompareResponse:
    query = query_from_request(body, settings)
    return await cancel_on_disconnect(request, compare(query, backends, request_id_of(request)))


@router.get("/health", response_model=HealthResponse, tags=["operations"], summary="Process is up")
async def health() -> HealthResponse:
    return HealthResponse()


@router.get(
    "/ready",
    response_model=ReadyResponse,
    responses={
        503: {
            "model": ReadyResponse,
            "description": "Backends not loaded (yet), or a backend's circuit is open.",
        }
    },
    tags=["operations"],
    summary="Backends are loaded and answering",
)
async def ready(request: Request, settings: SettingsDep) -> ReadyResponse | JSONResponse:
    backends = request.app.state.backends
    if backends is None:
        detail = request.app.state.startup_error or "loading"
        body = ReadyResponse(ready=False, detail=detail)
        return JSONResponse(body.model_dump(), status_code=503)
    circuits = circuit_states(backends)
    open_circuits = [label for label, state in circuits.items() if state == "open"]
    body = ReadyResponse(
        ready=not open_circuits,
        detail=f"circuit open: {', '.join(open_circuits)}" if open_circuits else None,
        circuits=circuits,
        backends=BackendInfo(
            retriever=f"{settings.retriever}:{backends.retriever.name}",
            generator=settings.generator,
            tuned_generator=settings.tuned_generator,
            models={
                "base": backends.base_generator.model_id,
                "tuned": backends.tuned_generator.model_id,
            },
        ),
    )
    if open_circuits:
        return JSONResponse(body.model_dump(), status_code=503)
    return body


@router.get("/metrics", include_in_schema=False, dependencies=[Depends(authenticate)])
async def metrics(request: Request) -> Response:
    """Prometheus metrics of this process (behind the API key when keys are set)."""
    registry: Metrics = request.app.state.metrics
    return Response(generate_latest(registry.registry), media_type=CONTENT_TYPE_LATEST)
