"""The one pure-ASGI layer around every HTTP request: request id, body limits and deadlines,
metrics and the access log, and the JSON 500 for an exception nothing else handled."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import INTERNAL_ERROR_MESSAGE, RequestTimeout, ServiceError
from app.core.observability import Metrics, RequestRecord, current_record
from app.core.request_id import current_request_id, request_id_for
from app.http.error_body import error_response
from app.middleware.access_log import record_request
from app.middleware.body_limit import bounded_receive, refusal_before_reading
from app.middleware.deadlines import ClientDeadlines

logger = logging.getLogger(__name__)
# A refused body may be followed by the rest of it: the connection is not reused.
_CLOSE = {"Connection": "close"}


@dataclass(frozen=True, slots=True)
class RequestLimits:
    """What one request may take of the service: its body's size, and the time the client gets
    to send the body and to read each piece of the response."""

    max_body_bytes: int
    body_timeout_s: float
    send_timeout_s: float


class ServiceMiddleware:
    """Per request, in this order: an id (kept from `X-Request-ID` when sane) in the context, the
    scope and the response headers; a 413/415 for a body over the limit or not JSON, a 408 for
    one that comes too slowly; the app, each of its sends within the send deadline; a JSON 500
    for an unexpected exception; then the metrics and one access log line.

    A client that stops reading leaves uvicorn's `send` waiting for the socket to drain, with
    no deadline of its own: past `send_timeout_s` (`ClientDeadlines`) the handler is cancelled,
    which frees the backend's in-flight slot (the stream closes without a verdict, so the
    backend's circuit never counts it), and the server closes the connection.

    One layer instead of one per concern: each layer wraps `send` again and costs a call per
    message (measured in docs/performance.md). Never BaseHTTPMiddleware: it buffers streams.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics, limits: RequestLimits) -> None:
        self.app = app
        self.metrics = metrics
        self.limits = limits

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

        limits = self.limits
        deadlines = ClientDeadlines(limits.body_timeout_s, limits.send_timeout_s)

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                message["headers"] = [*message.get("headers", ()), id_header]
            deadlines.waiting("send")
            try:
                await send(message)
            finally:
                deadlines.done()

        self.metrics.requests_in_flight += 1
        try:
            await self._answer(scope, receive, send_with_id, deadlines)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if deadlines.expired is None or (current is not None and current.cancelling() > 1):
                raise  # cancelled by someone else too (shutdown): theirs to handle
            if current is not None:
                current.uncancel()
            if deadlines.expired == "body" and not response_started:
                timeout = RequestTimeout(
                    f"the request body did not arrive within {limits.body_timeout_s:g} s; "
                    "send it at once"
                )
                await self._refuse(scope, receive, send_with_id, timeout)
            else:
                # Nobody reads this response: the server closes the connection once we return.
                logger.warning(
                    "client did not read the response for %g s; abandoned", limits.send_timeout_s
                )
        except Exception:
            logger.exception("unexpected error")
            if response_started:  # the status line is gone; all we can do is end the response
                raise
            await self._refuse(scope, receive, send_with_id, ServiceError(INTERNAL_ERROR_MESSAGE))
        finally:
            deadlines.close()
            self.metrics.requests_in_flight -= 1
            current_record.reset(record_token)
            record_request(self.metrics, scope, status, time.perf_counter() - started, record)
            current_request_id.reset(id_token)

    async def _answer(
        self, scope: Scope, receive: Receive, send: Send, deadlines: ClientDeadlines
    ) -> None:
        refusal = refusal_before_reading(scope, self.limits.max_body_bytes)
        if refusal is None:
            deadlines.waiting("body")
            try:
                receive = await bounded_receive(scope, receive, self.limits.max_body_bytes)
            except ServiceError as error:
                refusal = error
            deadlines.done()
        if refusal is not None:
            await self._refuse(scope, receive, send, refusal)
            return
        await self.app(scope, receive, send)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, error: ServiceError) -> None:
        headers = _CLOSE if isinstance(error, RequestTimeout) else None
        await error_response(HTTPConnection(scope), error, headers)(scope, receive, send)
