"""The FastAPI application: `create_app()` wires settings, backends, middleware and routes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app.backends.compose import Backends, build_backends
from app.catalog import CatalogError
from app.http.error_handlers import install_error_handlers
from app.http.playground import playground_router
from app.http.routes import router
from app.http.security import docs_urls
from app.middleware.stack import middleware_stack
from app.observability import Metrics, configure_logging
from app.resilience.guards import guard_backends
from app.resilience.rate_limit import RateLimiter
from app.settings import Settings, get_settings

logger = logging.getLogger(__name__)

BackendsBuilder = Callable[[Settings], Backends]


async def _load_backends(app: FastAPI, settings: Settings, builder: BackendsBuilder) -> None:
    try:
        built = await asyncio.to_thread(builder, settings)
        app.state.backends = guard_backends(built, settings, app.state.metrics)
        logger.info("backends ready")
    except CatalogError as error:
        # The user's catalog, not a bug: the message names each file and why; no traceback.
        app.state.startup_error = f"backends failed to load: {error}"
        logger.error("backends failed to load: %s", error)
    except Exception as error:
        # The process stays up so /ready can say why; every answer is a 503 with this message.
        app.state.startup_error = f"backends failed to load: {error}"
        logger.exception("backends failed to load")


def create_app(
    settings: Settings | None = None,
    backends: Backends | None = None,
    builder: BackendsBuilder = build_backends,
) -> FastAPI:
    """The service. Pass `backends` to use ready-made ones (tests); otherwise they are built from
    settings in the background at start-up, and /ready turns 200 once they are loaded."""
    settings = settings or get_settings()
    configure_logging(settings)
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        loader = None
        if app.state.backends is None:
            loader = asyncio.create_task(_load_backends(app, settings, builder))
        try:
            yield
        finally:
            if loader is not None:
                loader.cancel()
            if app.state.backends is not None:
                await app.state.backends.aclose()

    app = FastAPI(
        title="fm-tailor",
        summary="RAG, fine-tuned and hybrid answers about your product catalog, side by side.",
        version="0.1.0",
        lifespan=lifespan,
        middleware=middleware_stack(settings, metrics),
        **docs_urls(settings),
    )
    app.state.settings = settings
    app.state.startup_error = None
    app.state.metrics = metrics
    app.state.rate_limiter = _rate_limiter(settings)
    app.state.backends = (
        guard_backends(backends, settings, metrics) if backends is not None else None
    )
    install_error_handlers(app)
    app.include_router(router)
    app.include_router(playground_router)
    return app


def _rate_limiter(settings: Settings) -> RateLimiter | None:
    limits = settings.limits
    if limits.rate_limit_per_minute <= 0:
        return None
    return RateLimiter(limits.rate_limit_per_minute, limits.burst)
