"""Operations routes: /health (process up), /ready (backends loaded, circuits), /metrics."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from app.core.errors import STARTUP_FAILED_MESSAGE
from app.generators.base import Generator
from app.generators.local_tuned import AwaitedAdapterGenerator
from app.http.auth import PresentedKey, authenticate, may_see_details
from app.http.dependencies import StateDep
from app.http.schemas import AdapterProgress, BackendInfo, HealthResponse, ReadyResponse

operations_router = APIRouter(tags=["operations"])


@operations_router.get("/health", response_model=HealthResponse, summary="Process is up")
async def health() -> HealthResponse:
    return HealthResponse()


def adapter_progress(tuned: Generator) -> AdapterProgress | None:
    """The tuned model's adapter training, while the adapter has not landed."""
    if not isinstance(tuned, AwaitedAdapterGenerator) or tuned.serving:
        return None
    progress = tuned.progress()
    if progress is None:
        return AdapterProgress(status=tuned.status())
    return AdapterProgress(
        status=tuned.status(),
        state=progress.state,
        step=progress.step,
        total_steps=progress.total_steps,
        eta_s=progress.eta_s,
    )


@operations_router.get(
    "/ready",
    response_model=ReadyResponse,
    responses={
        503: {
            "model": ReadyResponse,
            "description": "Backends not loaded (yet), or a backend's circuit is open.",
        }
    },
    summary="Backends are loaded and answering",
    # The key is optional here (`{}` in OpenAPI's terms): it only adds the details.
    openapi_extra={"security": [{}]},
)
async def ready(
    request: Request, state: StateDep, presented: PresentedKey
) -> ReadyResponse | JSONResponse:
    """Ready or not, and the circuits, for anyone (load balancers); why, and which backends and
    models, only for callers who may see internals (`may_see_details`)."""
    details = may_see_details(request, state.settings, presented)
    composition = state.composition
    if composition is None:
        if state.startup_error is None:
            detail = "loading"
        elif details:
            detail = state.startup_error
        else:
            detail = STARTUP_FAILED_MESSAGE
        body = ReadyResponse(ready=False, detail=detail)
        return JSONResponse(body.model_dump(), status_code=503)
    circuits = composition.circuit_states()
    open_circuits = [label for label, circuit in circuits.items() if circuit == "open"]
    settings = state.settings
    backends = composition.backends
    body = ReadyResponse(
        ready=not open_circuits,
        detail=f"circuit open: {', '.join(open_circuits)}" if open_circuits else None,
        circuits=circuits,
        adapter=adapter_progress(backends.tuned_generator),
        backends=None
        if not details
        else BackendInfo(
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


@operations_router.get("/metrics", include_in_schema=False, dependencies=[Depends(authenticate)])
async def metrics(state: StateDep) -> Response:
    """Prometheus metrics of this process (behind the API key when keys are set)."""
    return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
