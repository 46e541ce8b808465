"""The middleware stack, declared once, outermost first."""

from __future__ import annotations

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

from app.http.security import API_KEY_HEADER
from app.middleware.access_log import ObservabilityMiddleware
from app.middleware.body_limit import RequestBodyLimitMiddleware
from app.middleware.request_id import RequestIdMiddleware
from app.middleware.unexpected_errors import UnexpectedErrorMiddleware
from app.observability import Metrics
from app.settings import Settings


def _cors(settings: Settings) -> list[Middleware]:
    """Let the configured browser origins call the API; none by default."""
    if not settings.cors_origins:
        return []
    return [
        Middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=[
                "Authorization",
                API_KEY_HEADER,
                "Content-Type",
                "X-Request-ID",
                "Accept",
            ],
            expose_headers=["X-Request-ID", "Retry-After"],
            max_age=600,
        )
    ]


def middleware_stack(settings: Settings, metrics: Metrics) -> list[Middleware]:
    """Every middleware of the service, outermost first: the request id wraps everything so
    every log line and error body carries it; errors are turned into JSON innermost."""
    return [
        Middleware(RequestIdMiddleware),
        Middleware(ObservabilityMiddleware, metrics=metrics),
        *_cors(settings),
        Middleware(RequestBodyLimitMiddleware, max_body_bytes=settings.limits.max_body_bytes),
        Middleware(UnexpectedErrorMiddleware),
    ]
