"""The FastAPI application: `create_app()` wires settings, backends, middleware and routes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app.backends import Backends, build_backends
from app.catalog import CatalogError
from app.circuit import guard_backends
from app.error_handlers import install_error_handlers
from app.limits import install_limits
from app.observability import install_observability
from app.playground import playground_router
from app.request_id import RequestIdMiddleware
from app.routes import router
from app.security import docs_urls, install_cors
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
        **docs_urls(settings),
    )
    app.state.settings = settings
    app.state.startup_error = None
    install_error_handlers(app)
    app.include_router(router)
    app.include_router(playground_router)
    install_limits(app, settings)
    install_cors(app, settings)
    metrics = install_observability(app, settings)
    app.state.backends = (
        guard_backends(backends, settings, metrics) if backends is not None else None
    )
    app.add_middleware(RequestIdMiddleware)
    return app
