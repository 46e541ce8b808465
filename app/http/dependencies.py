"""What routes get injected: the settings, the built backends, the admitted client."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import Depends, Request

from app.backends.compose import Backends
from app.errors import NotReady, RateLimited
from app.http.security import ClientIdentity
from app.resilience.rate_limit import RateLimiter
from app.settings import Settings


# Async on purpose: FastAPI runs plain `def` dependencies on its thread pool, a hop per request.
async def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_backends(request: Request) -> Backends:
    backends: Backends | None = request.app.state.backends
    if backends is None:
        failure: str | None = request.app.state.startup_error
        raise NotReady(failure or "backends are still loading; poll GET /ready", retry_after_s=5)
    return backends


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
BackendsDep = Annotated[Backends, Depends(get_backends)]


async def admit_request(request: Request, identity: ClientIdentity) -> str:
    """Authenticates, then refuses the request with 429 when its client is over the rate."""
    limiter: RateLimiter | None = request.app.state.rate_limiter
    if limiter is not None and (wait_s := limiter.wait_s(identity)) > 0:
        raise RateLimited(
            f"rate limit of {limiter.rate_per_s * 60:g} requests per minute exceeded; "
            f"retry in {math.ceil(wait_s)} s",
            retry_after_s=math.ceil(wait_s),
        )
    return identity
