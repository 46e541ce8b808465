"""API keys (SHA-256 digests in FMT_API_KEYS), client identity and the docs switch."""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from app.errors import Unauthorized
from app.settings import Settings

API_KEY_HEADER = "X-API-Key"

_bearer = HTTPBearer(auto_error=False, description="An API key as `Authorization: Bearer <key>`.")
_api_key_header = APIKeyHeader(
    name=API_KEY_HEADER, auto_error=False, description="An API key as `X-API-Key: <key>`."
)


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


def client_address(request: Request) -> str:
    client = request.client
    return client.host if client is not None else "unknown"


async def authenticate(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_api_key_header)],
) -> str:
    """Who is calling: `key:<digest prefix>` for a valid key, `client:<address>` when the service
    is open. The key itself is never returned, stored or logged."""
    settings: Settings = request.app.state.settings
    if not settings.api_keys:
        identity = f"client:{client_address(request)}"
    else:
        presented = bearer.credentials if bearer is not None else api_key
        if not presented:
            raise Unauthorized(
                f"an API key is required: send `Authorization: Bearer <key>` or `{API_KEY_HEADER}`"
            )
        digest = matching_digest(presented, settings.api_keys)
        if digest is None:
            raise Unauthorized("the API key is not valid")
        identity = f"key:{digest[:12]}"
    request.scope.setdefault("state", {})["client_identity"] = identity
    return identity


ClientIdentity = Annotated[str, Depends(authenticate)]


def docs_urls(settings: Settings) -> dict[str, Any]:
    """FastAPI arguments that serve or close /docs, /redoc and /openapi.json."""
    if settings.docs_enabled:
        return {}
    return {"docs_url": None, "redoc_url": None, "openapi_url": None}
