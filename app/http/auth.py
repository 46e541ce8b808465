"""API keys (SHA-256 digests in FMT_API_KEYS) and the identity of the calling client."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from app.errors import RateLimited, Unauthorized
from app.state import service_state

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
    state = service_state(request)
    settings = state.settings
    address = client_address(request)
    if not settings.api_keys:
        identity = f"client:{address}"
    else:
        presented = bearer.credentials if bearer is not None else api_key
        if not presented:
            raise Unauthorized(
                f"an API key is required: send `Authorization: Bearer <key>` or `{API_KEY_HEADER}`"
            )
        failed = state.failed_auth
        if failed is not None and (wait_s := failed.blocked_s(address)) > 0:
            raise RateLimited(
                f"too many invalid API keys from this address; retry in {math.ceil(wait_s)} s",
                retry_after_s=math.ceil(wait_s),
            )
        digest = matching_digest(presented, settings.api_keys)
        if digest is None:
            if failed is not None:
                failed.wait_s(address)  # one failure spent
            raise Unauthorized("the API key is not valid")
        identity = f"key:{digest[:12]}"
    request.scope.setdefault("state", {})["client_identity"] = identity
    return identity


ClientIdentity = Annotated[str, Depends(authenticate)]


def is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def _presented_key(request: Request) -> str | None:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials:
        return credentials.strip()
    return request.headers.get(API_KEY_HEADER) or None


async def sees_details(request: Request) -> bool:
    """Whether this caller may read operational details (why start-up failed, which models):
    a caller with a valid key, or, on a service without keys, one on this machine.

    Headers are read here, not through the security schemes: `/ready` answers everyone (a load
    balancer has no key), so the OpenAPI schema must not say it needs one.
    """
    accepted = service_state(request).settings.api_keys
    if not accepted:
        return is_loopback(client_address(request))
    presented = _presented_key(request)
    return presented is not None and matching_digest(presented, accepted) is not None


SeesDetails = Annotated[bool, Depends(sees_details)]
