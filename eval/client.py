"""HTTP client of the service: GET /ready and POST /<strategy>, with deadlines and retries.

Every reply is read under a total deadline per attempt (httpx's own timeouts bound each read,
so a server that trickles a byte at a time would pass them forever) and up to a size cap (a
server that never stops sending must not fill the runner's memory).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import random
import time
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import ValidationError

from eval.contract import AnswerResponse, ReadyResponse
from eval.settings import HttpSettings

RETRIED_STATUS = frozenset({429, 502, 503, 504})
MAX_PACED_WAIT_S = 60.0
LOADING = "loading"  # what /ready says while the backends are still being built


class ServiceNotReady(RuntimeError):
    """GET /ready did not turn ready in time."""


class ReplyTooLarge(httpx.HTTPError):
    """The reply went past the size cap: not read further, not retried."""


class ReplyTooSlow(httpx.TimeoutException):
    """The reply did not arrive whole within the attempt's total deadline; retried."""


@dataclass(frozen=True, slots=True)
class Reply:
    """A reply read whole, within the deadline and the size cap."""

    status_code: int
    headers: httpx.Headers
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


async def read_reply(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    settings: HttpSettings,
    body: dict[str, Any] | None = None,
) -> Reply:
    """One request, its reply read whole under `timeout_s` in total and `max_reply_bytes`."""
    cap = settings.max_reply_bytes
    try:
        async with asyncio.timeout(settings.timeout_s):
            async with client.stream(method, path, json=body) as response:
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > cap:
                    raise ReplyTooLarge(f"reply of {declared} bytes is over the {cap}-byte cap")
                chunks, size = [], 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > cap:
                        raise ReplyTooLarge(f"reply is over the {cap}-byte cap")
                    chunks.append(chunk)
                return Reply(response.status_code, response.headers, b"".join(chunks))
    except TimeoutError as error:
        raise ReplyTooSlow(
            f"no whole reply within the {settings.timeout_s:g} s deadline"
        ) from error


@dataclass(frozen=True, slots=True)
class CallOutcome:
    """The answer (or the last error) of one sample after retries, with client-side timings."""

    response: AnswerResponse | None
    error: str | None
    status_code: int | None
    attempts: int
    latency_ms: float | None
    elapsed_ms: float
    throttled: int = 0
    throttle_wait_ms: float = 0.0


def retry_delay(attempt: int, settings: HttpSettings, retry_after: str | None) -> float:
    """Exponential backoff with full jitter; a server's Retry-After is a floor."""
    ceiling = min(settings.backoff_max_s, settings.backoff_base_s * (2 ** (attempt - 1)))
    delay = random.uniform(0, ceiling)
    if retry_after:
        with contextlib.suppress(ValueError):
            delay = max(delay, min(float(retry_after), settings.backoff_max_s))
    return delay


def paced_delay(retry_after: str | None, settings: HttpSettings) -> float:
    """The wait the service asked for, plus jitter so that waiting workers do not return
    together."""
    try:
        wanted = float(retry_after) if retry_after else settings.backoff_base_s
    except ValueError:
        wanted = settings.backoff_base_s
    wanted = min(max(wanted, 0.05), MAX_PACED_WAIT_S)
    return wanted + random.uniform(0, wanted / 2)


def _ready_detail(response: Reply) -> str | None:
    try:
        return ReadyResponse.model_validate(response.json()).detail
    except (ValueError, ValidationError):
        return None


def _error_text(response: Reply) -> str:
    try:
        detail = response.json()["error"]
        return f"HTTP {response.status_code} {detail['code']}: {detail['message']}"
    except (ValueError, KeyError, TypeError):
        return f"HTTP {response.status_code}: {response.text[:300]}"


class ServiceClient:
    """Calls one deployment of the service; `client` is shared by every request."""

    def __init__(self, client: httpx.AsyncClient, settings: HttpSettings) -> None:
        self.client = client
        self.settings = settings

    async def wait_ready(self) -> ReadyResponse:
        deadline = time.monotonic() + self.settings.ready_timeout_s
        last = "no answer"
        while True:
            try:
                response = await read_reply(self.client, "GET", "/ready", self.settings)
                if response.status_code == 200:
                    return ReadyResponse.model_validate(response.json())
                last = _error_text(response)
                detail = _ready_detail(response)
                if detail and detail != LOADING:
                    # The service is up but its backends failed to load: waiting will not help.
                    raise ServiceNotReady(f"{self.client.base_url}/ready: {detail}")
            except (httpx.TransportError, ReplyTooLarge) as error:
                last = f"{type(error).__name__}: {error}"
            if time.monotonic() >= deadline:
                raise ServiceNotReady(f"{self.client.base_url}/ready is not ready: {last}")
            await asyncio.sleep(min(1.0, max(0.1, deadline - time.monotonic())))

    async def openapi(self) -> dict[str, Any] | None:
        """The service's OpenAPI document, or None when it serves none."""
        try:
            reply = await read_reply(self.client, "GET", "/openapi.json", self.settings)
            document = reply.json() if reply.status_code == 200 else None
        except (httpx.HTTPError, ValueError):
            return None
        return document if isinstance(document, dict) else None

    async def answer(self, strategy: str, body: dict[str, Any]) -> CallOutcome:
        """POST one question (or conversation); retry failures up to `max_attempts`, and wait
        out the service's rate limit (429) without counting it as a failure, up to
        `rate_limited_wait_s`. A reply over the size cap is a failure, never retried."""
        started = time.perf_counter()
        patience_ends = started + self.settings.rate_limited_wait_s
        error, status_code, attempt, throttled = "not attempted", None, 0, 0
        throttle_wait_s = 0.0
        while attempt < self.settings.max_attempts:
            attempt_started = time.perf_counter()
            retry_after = None
            try:
                response = await read_reply(
                    self.client, "POST", f"/{strategy}", self.settings, body
                )
            except ReplyTooLarge as too_large:
                error, status_code = f"ReplyTooLarge: {too_large}", None
                attempt += 1
                break
            except httpx.TransportError as transport_error:
                error, status_code = f"{type(transport_error).__name__}: {transport_error}", None
            else:
                status_code = response.status_code
                if status_code == 200:
                    latency_ms = (time.perf_counter() - attempt_started) * 1000.0
                    outcome = self._parsed(response, attempt + 1, latency_ms, started)
                    return dataclasses.replace(
                        outcome, throttled=throttled, throttle_wait_ms=throttle_wait_s * 1000.0
                    )
                error = _error_text(response)
                retry_after = response.headers.get("retry-after")
                if status_code == 429 and time.perf_counter() < patience_ends:
                    throttled += 1
                    waited = time.perf_counter()
                    await asyncio.sleep(paced_delay(retry_after, self.settings))
                    throttle_wait_s += time.perf_counter() - waited
                    continue
                if status_code not in RETRIED_STATUS:
                    attempt += 1
                    break
            attempt += 1
            if attempt < self.settings.max_attempts:
                await asyncio.sleep(retry_delay(attempt, self.settings, retry_after))
        elapsed_ms = (time.perf_counter() - started) * 1000.0
        return CallOutcome(
            None, error, status_code, attempt, None, elapsed_ms, throttled, throttle_wait_s * 1000.0
        )

    @staticmethod
    def _parsed(response: Reply, attempt: int, latency_ms: float, started: float) -> CallOutcome:
        elapsed_ms = (time.perf_counter() - started) * 1000.0
        try:
            answer = AnswerResponse.model_validate(response.json())
        except (ValueError, ValidationError) as error:
            message = f"response does not follow the contract: {error}"[:500]
            return CallOutcome(None, message, 200, attempt, None, elapsed_ms)
        return CallOutcome(answer, None, 200, attempt, latency_ms, elapsed_ms)
