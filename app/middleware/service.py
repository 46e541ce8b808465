"""The one pure-ASGI layer around every HTTP request: request id, body limits, metrics and the
access log, and the JSON 500 for an exception nothing else handled."""

from __future__ import annotations

import logging
import time

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import INTERNAL_ERROR_MESSAGE, ServiceError
from app.core.observability import Metrics, RequestRecord, current_record
from app.core.request_id import current_request_id, request_id_for
from app.http.error_body import error_response
from app.middleware.access_log import record_request
from app.middleware.body_limit import bounded_receive, refusal_before_reading

logger = logging.getLogger(__name__)


class ServiceMiddleware:
    """Per request, in this order: an id (kept from `X-Request-ID` when sane) in the context, the
    scope and the response headers; a 413/415 for a body over the limit or not JSON; the app;
    a JSON 500 for an unexpected exception; then the metrics and one access log line.

    One layer instead of one per concern: each layer wraps `send` again and costs a call per
    message (measured in docs/performance.md). Never BaseHTTPMiddleware: it buffers streams.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics, max_body_bytes: int) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = request_id_for(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        id_header = (b"x-request-id", request_id.encode("latin-1"))
        id_token = current_request_id.set(request_id)
        record = RequestRecord()
        record_token = current_record.set(record)
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                message["headers"] = [*message.get("headers", ()), id_header]
            await send(message)

        self.metrics.requests_in_flight += 1
        try:
            await self._answer(scope, receive, send_with_id)
        except Exception:
            logger.exception("unexpected error")
            if response_started:  # the status line is gone; all we can do is end the response
                raise
            await self._refuse(scope, receive, send_with_id, ServiceError(INTERNAL_ERROR_MESSAGE))
        finally:
            self.metrics.requests_in_flight -= 1
            current_record.reset(record_token)
            record_request(self.metrics, scope, status, time.perf_counter() - started, record)
            current_request_id.reset(id_token)

    async def _answer(self, scope: Scope, receive: Receive, send: Send) -> None:
        refusal = refusal_before_reading(scope, self.max_body_bytes)
        if refusal is None:
            try:
                receive = await bounded_receive(scope, receive, self.max_body_bytes)
            except ServiceError as error:
                refusal = error
        if refusal is not None:
            await self._refuse(scope, receive, send, refusal)
            return
        await self.app(scope, receive, send)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, error: ServiceError) -> None:
        await error_response(HTTPConnection(scope), error)(scope, receive, send)
