"""The one builder of error bodies, for handlers, middleware, streams and `/compare`: the
contract's `{"error": {"code", "message", "request_id"}}`, or OpenAI's
`{"error": {"message", "type", "param", "code"}}` under `/v1/`."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel
from starlette.requests import HTTPConnection
from starlette.responses import Response

from app.core.errors import ServiceError
from app.core.request_id import request_id_of
from app.http.openai_schemas import OpenAIError, OpenAIErrorResponse
from app.http.schemas import ErrorDetail, ErrorResponse

OPENAI_PREFIX = "/v1/"
JSON_MEDIA_TYPE = "application/json"


def speaks_openai(connection: HTTPConnection) -> bool:
    """Whether the request came to the OpenAI-compatible API, whose clients read its errors."""
    path: str = connection.scope["path"]
    return path.startswith(OPENAI_PREFIX)


def error_detail(error: ServiceError, request_id: str) -> ErrorDetail:
    return ErrorDetail(code=error.code, message=error.message, request_id=request_id)


def openai_status(error: ServiceError) -> int:
    """OpenAI answers every invalid request with 400; the other statuses are the same."""
    return 400 if error.status_code == 422 else error.status_code


def openai_error(error: ServiceError, param: str | None = None) -> OpenAIError:
    status = openai_status(error)
    if status == 401:
        kind = "authentication_error"
    elif status == 403:
        kind = "permission_error"
    elif status == 429:
        kind = "rate_limit_error"
    elif status >= 500:
        kind = "server_error"
    else:
        kind = "invalid_request_error"
    return OpenAIError(message=error.message, type=kind, param=param, code=error.code)


def error_body(
    connection: HTTPConnection, error: ServiceError, param: str | None = None
) -> tuple[int, BaseModel]:
    """The status and body of `error` in the dialect of the API the request came to."""
    if speaks_openai(connection):
        return openai_status(error), OpenAIErrorResponse(error=openai_error(error, param))
    return error.status_code, ErrorResponse(error=error_detail(error, request_id_of(connection)))


def error_response(
    connection: HTTPConnection,
    error: ServiceError,
    headers: Mapping[str, str] | None = None,
    param: str | None = None,
) -> Response:
    """The error's body and status, and `Retry-After` when it says when to retry."""
    all_headers = dict(headers or {})
    if error.retry_after_s is not None:
        all_headers["Retry-After"] = str(max(1, round(error.retry_after_s)))
    status, body = error_body(connection, error, param)
    return Response(
        body.model_dump_json(), status_code=status, headers=all_headers, media_type=JSON_MEDIA_TYPE
    )
