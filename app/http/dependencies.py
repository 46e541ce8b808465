"""What routes get injected: the service state, its settings, the composed backends, the admitted
client."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import Depends, Request

from app.core.errors import STARTUP_FAILED_MESSAGE, NotReady, RateLimited
from app.http.auth import identify
from app.settings import Settings
from app.wiring.compose import Composition
from app.wiring.state import ServiceState, service_state


# Async on purpose: FastAPI runs plain `def` dependencies on its thread pool, a hop per request.
async def get_state(request: Request) -> ServiceState:
    return service_state(request)


async def get_app_settings(request: Request) -> Settings:
    return service_state(request).settings


def ready_composition(state: ServiceState) -> Composition:
    """The composed backends, or 503 while they load (or after they failed to)."""
    if state.composition is None:
        if state.startup_error is not None:  # why is for the log and authenticated /ready
            raise NotReady(STARTUP_FAILED_MESSAGE, retry_after_s=5)
        raise NotReady("backends are still loading; poll GET /ready", retry_after_s=5)
    return state.composition


StateDep = Annotated[ServiceState, Depends(get_state)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]


def _admit(request: Request, cost: int) -> str:
    state = service_state(request)
    identity = identify(request, state.settings)
    limiter = state.rate_limiter
    if limiter is not None and (wait_s := limiter.wait_s(identity, cost)) > 0:
        raise RateLimited(
            f"rate limit of {limiter.rate_per_s * 60:g} requests per minute exceeded; "
            f"retry in {math.ceil(wait_s)} s",
            retry_after_s=math.ceil(wait_s),
        )
    return identity


async def admit_request(request: Request) -> str:
    """Authenticates, then refuses the request with 429 when its client is over the rate."""
    return _admit(request, cost=1)


async def admit_comparison(request: Request) -> str:
    """As `admit_request`, charging one request per strategy that `/compare` runs."""
    return _admit(request, cost=len(service_state(request).table))
