"""Limits: per-client request rate, backend calls in flight, request body size and type."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.error_handlers import error_response
from app.errors import RateLimited
from app.security import ClientIdentity
from app.settings import Settings

_METHODS_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})
IN_FLIGHT_RETRY_AFTER_S = 1.0


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """One token bucket per client: `burst` requests at once, refilled at `per_minute`."""

    def __init__(
        self,
        per_minute: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = 10_000,
    ) -> None:
        self.rate_per_s = per_minute / 60.0
        self.burst = float(burst)
        self.clock = clock
        self.max_clients = max_clients
        self._buckets: dict[str, _Bucket] = {}

    @property
    def client_count(self) -> int:
        return len(self._buckets)

    def wait_s(self, identity: str) -> float:
        """Takes a token and returns 0, or returns the seconds until a token is free."""
        now = self.clock()
        bucket = self._buckets.get(identity)
        if bucket is None:
            self._forget_idle_clients(now)
            bucket = self._buckets[identity] = _Bucket(self.burst, now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate_per_s)
        bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate_per_s

    def _forget_idle_clients(self, now: float) -> None:
        # Bounded memory under many client addresses: a full bucket holds nothing worth keeping.
        if len(self._buckets) < self.max_clients:
            return
        refill_s = self.burst / self.rate_per_s
        self._buckets = {
            identity: bucket
            for identity, bucket in self._buckets.items()
            if now - bucket.updated < refill_s
        }
        if len(self._buckets) >= self.max_clients:
            self._buckets.clear()


async def admit_request(request: Request, identity: ClientIdentity) -> str:
    """Authenticates, then refuses the request with 429 when its client is over the rate."""
    limiter: RateLimiter | None = request.app.state.rate_limiter
    if limiter is not None and (wait_s := limiter.wait_s(identity)) > 0:
        raise RateLimited(
            f"rate limit of {limiter.rate_per_s * 60:g} requests per minute exceeded; "
            f"retry in {math.ceil(wait_s)} s",
            retry_after_s=math.ceil(wait_s),
        )
    return identity


AdmittedClient = Annotated[str, Depends(admit_request)]


class InFlightLimit:
    """At most `limit` calls to one backend at once; the next is refused, not queued."""

    def __init__(self, label: str, limit: int) -> None:
        self.label = label
        self.limit = limit
        self.in_flight = 0

    def acquire(self) -> None:
        """Takes a slot, or raises RateLimited (429) when all are taken; pair with `release`."""
        if self.in_flight >= self.limit:
            raise RateLimited(
                f"the {self.label} backend is busy ({self.limit} calls in flight); retry shortly",
                retry_after_s=IN_FLIGHT_RETRY_AFTER_S,
            )
        self.in_flight += 1

    def release(self) -> None:
        self.in_flight -= 1


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def is_json_media_type(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


class RequestBodyLimitMiddleware:
    """Refuses bodies over `max_body_bytes` (413) and bodies that are not JSON (415).

    Pure ASGI: the body is read here (it is small by then) and replayed to the app.
    """

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _METHODS_WITH_BODY:
            await self.app(scope, receive, send)
            return
        content_type = _header(scope, b"content-type")
        if content_type is not None and not is_json_media_type(content_type):
            message = f"send JSON with `Content-Type: application/json`, not {content_type[:80]!r}"
            await self._refuse(scope, receive, send, 415, message)
            return
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await self._refuse(scope, receive, send, 413, self._too_large())
            return
        body = await self._read_body(receive)
        if body is None:
            await self._refuse(scope, receive, send, 413, self._too_large())
            return
        await self.app(scope, _replay(body, receive), send)

    def _too_large(self) -> str:
        return f"request body larger than {self.max_body_bytes} bytes"

    async def _read_body(self, receive: Receive) -> Message | None:
        """The whole body as one message, or None once it passes the limit."""
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            if len(message.get("body", b"")) > self.max_body_bytes:
                return None
            return message
        chunks = [message.get("body", b"")]
        size = len(chunks[0])
        while message.get("more_body", False):
            message = await receive()
            if message["type"] != "http.request":
                return message
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_body_bytes:
                return None
        return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

    async def _refuse(
        self, scope: Scope, receive: Receive, send: Send, status: int, message: str
    ) -> None:
        codes = {413: "payload_too_large", 415: "unsupported_media_type"}
        response = error_response(Request(scope), status, codes[status], message)
        await response(scope, receive, send)


def _replay(first: Message, receive: Receive) -> Receive:
    """A receive that gives the buffered body once, then waits on the client (disconnects)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return first
        return await receive()

    return replay


def install_limits(app: FastAPI, settings: Settings) -> None:
    """The body limit middleware and the per-client rate limiter of this app."""
    limits = settings.limits
    app.state.rate_limiter = (
        RateLimiter(limits.rate_limit_per_minute, limits.burst)
        if limits.rate_limit_per_minute > 0
        else None
    )
    app.add_middleware(RequestBodyLimitMiddleware, max_body_bytes=limits.max_body_bytes)
