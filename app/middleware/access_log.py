"""The access log line and the request metrics of one finished HTTP request."""

from __future__ import annotations

import logging

from starlette.types import Scope

from app.core.observability import Metrics, RequestRecord

access_logger = logging.getLogger("app.access")

QUIET_ROUTES = frozenset({"/health", "/ready", "/metrics"})


def record_request(
    metrics: Metrics, scope: Scope, status: int, elapsed_s: float, record: RequestRecord
) -> None:
    """Counts and times the request by route, and logs one line (DEBUG for health checks)."""
    route = scope.get("route")
    route_path = getattr(route, "path", None) or "unmatched"
    metrics.observe_request(route_path, scope["method"], status, elapsed_s)
    level = logging.DEBUG if route_path in QUIET_ROUTES else logging.INFO
    if not access_logger.isEnabledFor(level):
        return
    state = scope.get("state", {})
    access_logger.log(
        level,
        "%s %s %d",
        scope["method"],
        route_path,
        status,
        extra={
            "method": scope["method"],
            "path": scope["path"][:200],
            "route": route_path,
            "status": status,
            "duration_ms": round(elapsed_s * 1000.0, 3),
            "client": state.get("client_identity"),
            **record.fields(),
        },
    )
