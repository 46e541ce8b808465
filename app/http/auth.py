"""API keys (SHA-256 digests in FMT_API_KEYS) and the identity of the calling client."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
from typing import Any

from fastapi import FastAPI
from starlette.requests import HTTPConnection

from app.core.errors import RateLimited, Unauthorized
from app.settings import Settings
from app.wiring.state import service_state

API_KEY_HEADER = "X-API-Key"

# Declared in the OpenAPI document (the docs' Authorize button); checked by `identify`, without
# FastAPI's security dependencies, which cost a dependency resolution each on every request.
SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "HTTPBearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key as `Authorization: Bearer <key>`.",
    },
    "APIKeyHeader": {
        "type": "apiKey",
        "in": "header",
        "name": API_KEY_HEADER,
        "description": "An API key as `X-API-Key: <key>`.",
    },
}
SECURITY_REQUIREMENT: list[dict[str, list[str]]] = [{"HTTPBearer": []}, {"APIKeyHeader": []}]


def digest_of(key: str) -> str:
    """The SHA-256 hex digest FMT_API_KEYS lists for `key`."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def matching_digest(presented: str, accepted: list[str]) -> str | None:
    """The accepted digest equal to the presented key's, compared in constant time.

    Every accepted digest is compared, so the time taken does not say which one came close.
    """
    presented_digest = digest_of(presented).encode("ascii")
    found = None
    for digest in accepted:
        if hmac.compare_digest(presented_digest, digest.encode("ascii")):
            found = digest
    return found


def client_address(connection: HTTPConnection) -> str:
    client = connection.client
    return client.host if client is not None else "unknown"


def presented_key(connection: HTTPConnection) -> str | None:
    """The key from `Authorization: Bearer <key>`, else from `X-API-Key`; None when neither."""
    authorization = connection.headers.get("authorization", "")
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return connection.headers.get(API_KEY_HEADER) or None


def identify(connection: HTTPConnection, settings: Settings) -> str:
    """Who is calling: `key:<digest prefix>` for a valid key, `client:<address>` when the service
    is open; 401 otherwise (429 for an address that sent too many invalid keys). The key itself
    is never returned, stored or logged.

    A valid key is admitted whatever its address did: the failed-key limit paces guessing (the
    keys the docs generate are 192 to 256 random bits, so it sheds load more than it guards
    them), and must not let whoever shares an address (a NAT, an office) lock a key holder out
    with ten bad keys a minute."""
    address = client_address(connection)
    if not settings.api_keys:
        identity = f"client:{address}"
    else:
        presented = presented_key(connection)
        if not presented:
            raise Unauthorized(
                f"an API key is required: send `Authorization: Bearer <key>` or `{API_KEY_HEADER}`"
            )
        digest = matching_digest(presented, settings.api_keys)
        if digest is None:
            failed = service_state(connection).failed_auth
            # One failure spent, or the seconds until the address may fail again.
            if failed is not None and (wait_s := failed.wait_s(address)) > 0:
                raise RateLimited(
                    f"too many invalid API keys from this address; retry in {math.ceil(wait_s)} s",
                    retry_after_s=math.ceil(wait_s),
                )
            raise Unauthorized("the API key is not valid")
        identity = f"key:{digest[:12]}"
    connection.scope.setdefault("state", {})["client_identity"] = identity
    return identity


def may_see_details(connection: HTTPConnection, settings: Settings) -> bool:
    """Whether the caller may read internal details (start-up errors, backends, models): a
    valid key when keys are configured; otherwise only a caller on this machine (loopback)."""
    if settings.api_keys:
        try:
            identify(connection, settings)
        except Unauthorized:
            return False
        return True
    address = client_address(connection)
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return address == "localhost"


async def authenticate(connection: HTTPConnection) -> str:
    """A route dependency: the caller's identity, or 401."""
    return identify(connection, service_state(connection).settings)


def declare_security(app: FastAPI) -> None:
    """Adds the two key schemes to the app's OpenAPI document (routes name them in `security`)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        schema.setdefault("components", {}).setdefault("securitySchemes", {}).update(
            SECURITY_SCHEMES
        )
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
