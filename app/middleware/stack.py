"""The middleware stack, declared once, outermost first."""

from __future__ import annotations

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

from app.core.observability import Metrics
from app.http.auth import API_KEY_HEADER
from app.middleware.service import ServiceMiddleware
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
    """Every middleware of the service, outermost first: CORS (when origins are configured) so
    that every answer, refusals and 500s included, carries its headers; then the service layer
    (request id, body limits, metrics, access log, the JSON 500)."""
    return [
        *_cors(settings),
        Middleware(
            ServiceMiddleware, metrics=metrics, max_body_bytes=settings.limits.max_body_bytes
        ),
    ]
