"""Counts, times and logs every HTTP request once: the access log line and the request metrics."""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.observability import Metrics, RequestRecord, current_record

access_logger = logging.getLogger("app.access")

QUIET_ROUTES = frozenset({"/health", "/ready", "/metrics"})


class ObservabilityMiddleware:
    """Counts, times and logs every HTTP request once (pure ASGI, streaming untouched)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        record = RequestRecord()
        token = current_record.set(record)

        async def send_tracking(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, send_tracking)
        finally:
            self.metrics.in_flight.dec()
            current_record.reset(token)
            self._finish(scope, status, time.perf_counter() - started, record)

    def _finish(self, scope: Scope, status: int, elapsed_s: float, record: RequestRecord) -> None:
        route = scope.get("route")
        route_path = getattr(route, "path", None) or "unmatched"
        self.metrics.requests.labels(route_path, scope["method"], str(status)).inc()
        self.metrics.request_seconds.labels(route_path).observe(elapsed_s)
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
