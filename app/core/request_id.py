"""Request ids: kept from `X-Request-ID` when the caller sends a sane one, made here otherwise."""

from __future__ import annotations

import random
import re
from contextvars import ContextVar

from starlette.requests import HTTPConnection
from starlette.types import Scope

REQUEST_ID_HEADER = "X-Request-ID"
_ACCEPTED = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")

current_request_id: ContextVar[str] = ContextVar("current_request_id", default="-")


def new_request_id() -> str:
    # Unique, not secret: 128 random bits from the process's generator, no system call per id.
    return f"{random.getrandbits(128):032x}"


def request_id_of(request: HTTPConnection) -> str:
    """The id the middleware gave this request (a fresh one outside the middleware)."""
    request_id = request.scope.get("state", {}).get("request_id")
    return request_id if isinstance(request_id, str) else new_request_id()


def request_id_for(scope: Scope) -> str:
    """The caller's `X-Request-ID` when it is a sane one, else a new id."""
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            incoming = value.decode("latin-1")
            return incoming if _ACCEPTED.fullmatch(incoming) else new_request_id()
    return new_request_id()
