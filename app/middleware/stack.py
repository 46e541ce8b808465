"""The middleware stack, declared once, outermost first."""

from __future__ import annotations

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from app.core.observability import Metrics
from app.http.auth import API_KEY_HEADER
from app.middleware.page_security import PageSecurityMiddleware
from app.middleware.service import RequestLimits, ServiceMiddleware
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


def request_limits(settings: Settings) -> RequestLimits:
    limits = settings.limits
    return RequestLimits(limits.max_body_bytes, limits.body_timeout_s, limits.send_timeout_s)


def middleware_stack(settings: Settings, metrics: Metrics) -> list[Middleware]:
    """Every middleware of the service, outermost first:
    - the client's address from `X-Forwarded-For`, believed only from FMT_TRUSTED_PROXIES
      (uvicorn's own middleware: the right-most address no trusted proxy wrote), so that the
      rate limits, the failed-key pacing and `/ready`'s details see the real peer (`python -m
      app` runs uvicorn with its proxy handling off, so this is the one place that decides);
    - CORS (when origins are configured) so that every answer, refusals and 500s included,
      carries its headers;
    - the pages' security headers (Content-Security-Policy, frame-ancestors, nosniff);
    - the service layer (request id, body limits and deadlines, send deadline, metrics, access
      log, the JSON 500)."""
    return [
        Middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies),
        *_cors(settings),
        Middleware(PageSecurityMiddleware),
        Middleware(ServiceMiddleware, metrics=metrics, limits=request_limits(settings)),
    ]
