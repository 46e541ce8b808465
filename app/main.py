"""The FastAPI application: `create_app()` wires settings, backends, middleware and routes."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from app.catalog import CatalogError
from app.core.observability import Metrics, configure_logging
from app.http.auth import declare_security
from app.http.error_handlers import install_error_handlers
from app.http.operations import operations_router
from app.http.playground import playground_router
from app.http.routes import add_strategy_routes
from app.middleware.stack import middleware_stack
from app.resilience.rate_limit import RateLimiter
from app.settings import Settings, get_settings
from app.strategies.table import STRATEGIES, StrategySpec
from app.wiring.compose import Backends, build_backends, compose
from app.wiring.state import ServiceState, attach_state

logger = logging.getLogger(__name__)

BackendsBuilder = Callable[[Settings], Backends]


async def _load_backends(state: ServiceState, builder: BackendsBuilder) -> None:
    try:
        built = await asyncio.to_thread(builder, state.settings)
        state.composition = compose(built, state.settings, state.metrics, state.table)
        _freeze_heap()
        logger.info("backends ready")
    except CatalogError as error:
        # The user's catalog, not a bug: the message names each file and why; no traceback.
        state.startup_error = f"backends failed to load: {error}"
        logger.error("backends failed to load: %s", error)
    except Exception as error:
        # The process stays up so /ready can say why; every answer is a 503 with this message.
        state.startup_error = f"backends failed to load: {error}"
        logger.exception("backends failed to load")


def docs_urls(settings: Settings) -> dict[str, Any]:
    """FastAPI arguments that serve or close /docs, /redoc and /openapi.json."""
    if settings.docs_enabled:
        return {}
    return {"docs_url": None, "redoc_url": None, "openapi_url": None}


def _freeze_heap() -> None:
    """Leaves the objects loaded so far (models, SDK service descriptions, modules) out of the
    garbage collector's full passes: walking them took 0.5 to 0.8 s per pass on the 2-core
    machine, a pause every request in flight waited for."""
    gc.freeze()


def _rate_limiter(settings: Settings) -> RateLimiter | None:
    limits = settings.limits
    if limits.rate_limit_per_minute <= 0:
        return None
    return RateLimiter(
        limits.rate_limit_per_minute, limits.burst, max_clients=limits.max_tracked_clients
    )


def _failed_auth_limiter(settings: Settings) -> RateLimiter | None:
    limits = settings.limits
    if limits.failed_auth_per_minute <= 0 or not settings.api_keys:
        return None
    per_minute = limits.failed_auth_per_minute
    return RateLimiter(
        per_minute, max(1, round(per_minute)), max_clients=limits.max_tracked_clients
    )


def create_app(
    settings: Settings | None = None,
    backends: Backends | None = None,
    builder: BackendsBuilder = build_backends,
    table: Sequence[StrategySpec] = STRATEGIES,
) -> FastAPI:
    """The service. Pass `backends` to use ready-made ones (tests); otherwise they are built from
    settings in the background at start-up, and /ready turns 200 once they are loaded."""
    settings = settings or get_settings()
    configure_logging(settings)
    metrics = Metrics()
    state = ServiceState(
        settings, metrics, _rate_limiter(settings), tuple(table), _failed_auth_limiter(settings)
    )
    if backends is not None:
        state.composition = compose(backends, settings, metrics, state.table)
        _freeze_heap()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        loader = None
        if state.composition is None:
            loader = asyncio.create_task(_load_backends(state, builder))
        try:
            yield
        finally:
            if loader is not None:
                loader.cancel()
            if state.composition is not None:
                await state.composition.aclose()

    app = FastAPI(
        title="fm-tailor",
        summary="RAG, fine-tuned and hybrid answers about your product catalog, side by side.",
        version="0.1.0",
        lifespan=lifespan,
        middleware=middleware_stack(settings, metrics),
        **docs_urls(settings),
    )
    attach_state(app, state)
    declare_security(app)
    install_error_handlers(app)
    documentation = list(app.router.routes)  # FastAPI's /openapi.json, /docs and /redoc
    add_strategy_routes(app.router, state.table)
    # Routes are tried in order and no path is shared: the strategy routes, which carry the
    # traffic, go before the documentation's, each of which costs every answer a path match.
    app.router.routes[:] = [*app.router.routes[len(documentation) :], *documentation]
    app.include_router(operations_router)
    app.include_router(playground_router)
    return app
