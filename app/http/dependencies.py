"""What routes get injected: the service state, its settings, the composed backends, the admitted
client and the request id."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from app.core.errors import STARTUP_FAILED_MESSAGE, NotReady, RateLimited
from app.core.request_id import request_id_of
from app.http.auth import PresentedKey, identify
from app.settings import Settings
from app.wiring.compose import Composition
from app.wiring.state import ServiceState, service_state


# Async on purpose: FastAPI runs plain `def` dependencies on its thread pool, a hop per request.
async def get_state(request: Request) -> ServiceState:
    return service_state(request)


StateDep = Annotated[ServiceState, Depends(get_state)]


async def get_app_settings(state: StateDep) -> Settings:
    return state.settings


SettingsDep = Annotated[Settings, Depends(get_app_settings)]


def _composition_of(state: ServiceState) -> Composition:
    """The composed backends, or 503 while they load (or after they failed to)."""
    if state.composition is None:
        if state.startup_error is not None:  # why is for the log and authenticated /ready
            raise NotReady(STARTUP_FAILED_MESSAGE, retry_after_s=5)
        raise NotReady("backends are still loading; poll GET /ready", retry_after_s=5)
    return state.composition


async def ready_composition(state: StateDep) -> Composition:
    return _composition_of(state)


def _admit(request: Request, state: ServiceState, presented: str | None, cost: int) -> str:
    identity = identify(request, state.settings, presented)
    limiter = state.rate_limiter
    if limiter is not None and (wait_s := limiter.wait_s(identity, cost)) > 0:
        raise RateLimited(
            f"rate limit of {limiter.rate_per_s * 60:g} requests per minute exceeded; "
            f"retry in {math.ceil(wait_s)} s",
            retry_after_s=math.ceil(wait_s),
        )
    return identity


async def admit_request(request: Request, state: StateDep, presented: PresentedKey) -> str:
    """Authenticates, then refuses the request with 429 when its client is over the rate."""
    return _admit(request, state, presented, cost=1)


async def admit_comparison(request: Request, state: StateDep, presented: PresentedKey) -> str:
    """As `admit_request`, charging one request per strategy that `/compare` runs."""
    return _admit(request, state, presented, cost=len(state.table))


@dataclass(frozen=True, slots=True)
class Answering:
    """What a route that answers needs: the admitted client, the composed backends, the
    settings, the request id."""

    client: str
    composition: Composition
    settings: Settings
    request_id: str


def _answering(request: Request, presented: str | None, cost: int) -> Answering:
    # Admission first, readiness second: an unauthenticated caller learns nothing of the backends.
    state = service_state(request)
    client = _admit(request, state, presented, cost)
    composition = _composition_of(state)
    return Answering(client, composition, state.settings, request_id_of(request))


# One dependency per answering route (each resolution costs every request): admission, the
# backends (503 while they load), the settings and the request id.
async def admitted_answering(request: Request, presented: PresentedKey) -> Answering:
    return _answering(request, presented, cost=1)


async def admitted_comparison(request: Request, presented: PresentedKey) -> Answering:
    """As `admitted_answering`; `/compare` runs every strategy: it costs the client as many
    requests of its rate limit."""
    return _answering(request, presented, cost=len(service_state(request).table))


AnsweringDep = Annotated[Answering, Depends(admitted_answering)]
ComparingDep = Annotated[Answering, Depends(admitted_comparison)]
