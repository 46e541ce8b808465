"""What routes get injected: the settings and the built backends of this app."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.backends import Backends
from app.errors import NotReady
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
