"""Maps every error to the JSON error body of the contract; no traceback ever reaches a client."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.core.errors import InvalidRequest, ServiceError, error_for_status
from app.http.error_body import error_response

logger = logging.getLogger(__name__)


def describe_validation_error(error: RequestValidationError) -> str:
    """One readable line per problem: `body.top_k: Input should be less than or equal to 20`."""
    problems = []
    for item in error.errors():
        where = ".".join(str(part) for part in item.get("loc", ()))
        problems.append(f"{where}: {item.get('msg', 'invalid')}")
    return "; ".join(problems) or "invalid request"


async def _on_service_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ServiceError)
    # The backend's own words (`detail`) go to the log with the request id, never to the client.
    logger.warning("request failed: %s", error.log_text(), extra={"code": error.code})
    return error_response(request, error)


async def _on_validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    return error_response(request, InvalidRequest(describe_validation_error(error)))


async def _on_http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    service_error = error_for_status(error.status_code, str(error.detail))
    return error_response(request, service_error, error.headers)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ServiceError, _on_service_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
