"""The one builder of the contract's error body, for handlers, middleware, SSE and `/compare`."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse

from app.core.errors import ServiceError
from app.core.request_id import request_id_of
from app.http.schemas import ErrorDetail, ErrorResponse


def error_detail(error: ServiceError, request_id: str) -> ErrorDetail:
    return ErrorDetail(code=error.code, message=error.message, request_id=request_id)


def error_response(
    connection: HTTPConnection,
    error: ServiceError,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """`{"error": {...}}` with the error's status, and `Retry-After` when it says when to retry."""
    all_headers = dict(headers or {})
    if error.retry_after_s is not None:
        all_headers["Retry-After"] = str(max(1, round(error.retry_after_s)))
    body = ErrorResponse(error=error_detail(error, request_id_of(connection)))
    return JSONResponse(body.model_dump(), status_code=error.status_code, headers=all_headers)
