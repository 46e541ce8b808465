"""Retries with backoff and full jitter within a deadline; SDK and HTTP errors as app errors."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import httpx
import urllib3.exceptions
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
    NoCredentialsError,
    NoRegionError,
    ReadTimeoutError,
)

from app.errors import (
    BackendError,
    BackendThrottled,
    BackendTimeout,
    BackendUnavailable,
    ServiceError,
)
from app.settings import AwsRetrySettings

logger = logging.getLogger(__name__)

T = TypeVar("T")

THROTTLED_RETRY_AFTER_S = 1.0

# Error codes compared lower-case: event streams spell them `throttlingException`.
_THROTTLING_CODES = {
    "throttlingexception",
    "throttling",
    "toomanyrequestsexception",
    "provisionedthroughputexceededexception",
    "requestlimitexceeded",
    "servicequotaexceededexception",
    "slowdown",
}
_UNAVAILABLE_CODES = {
    "serviceunavailable",
    "serviceunavailableexception",
    "internalfailure",
    "internalserverexception",
    "internalservererror",
    "internaldependencyexception",
    "internalstreamfailure",
    "modelnotreadyexception",
    # AWS documents these as "retry your request" (Retrieve, ConverseStream, SageMaker streams).
    "dependencyfailedexception",
    "badgatewayexception",
    "modelstreamerrorexception",
    "modelstreamerror",
    "streambroken",
}
_TIMEOUT_CODES = {
    "modeltimeoutexception",
    "requesttimeout",
    "requesttimeoutexception",
    "modelinvocationtimeexceeded",
}
_HINTS = {
    "accessdeniedexception": "check the IAM permissions listed in docs/aws-backends.md; "
    "`make doctor` names the missing ones",
    "unrecognizedclientexception": "check the AWS credentials",
    "resourcenotfoundexception": "check the model id (FMT_BEDROCK__MODEL_ID), knowledge base id "
    "(FMT_BEDROCK__KNOWLEDGE_BASE_ID) or endpoint name; `make doctor` says which",
    "validationexception": "check FMT_BEDROCK__MODEL_ID (an inference profile id where the "
    "model has no on-demand throughput) and the request settings; `make doctor` checks it",
    "validationerror": "check FMT_SAGEMAKER__ENDPOINT_NAME (is the endpoint InService?) and the "
    "payload format; `make doctor` checks it",
}


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long to try one call."""

    max_attempts: int = 4
    base_delay_s: float = 0.2
    max_delay_s: float = 5.0
    deadline_s: float = 60.0

    @classmethod
    def from_settings(cls, retry: AwsRetrySettings, deadline_s: float) -> RetryPolicy:
        return cls(retry.max_attempts, retry.base_delay_s, retry.max_delay_s, deadline_s)

    def backoff_s(self, attempt: int, draw: Callable[[], float] = random.random) -> float:
        """Full jitter: uniform between 0 and the capped exponential delay of this attempt."""
        return draw() * min(self.max_delay_s, self.base_delay_s * 2.0**attempt)


@dataclass(frozen=True, slots=True)
class Failure:
    """What an SDK error means to a client, and whether trying again may help."""

    error: ServiceError
    retryable: bool


def _client_error_failure(error: ClientError, backend: str) -> Failure:
    details = error.response.get("Error", {})
    code = str(details.get("Code", "Unknown"))
    message = str(details.get("Message", "")) or str(error)
    status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    key = code.lower()
    # SageMaker's ModelStreamError says what happened in ErrorCode (app.generators.streaming).
    key = str(details.get("ErrorCode", "")).lower() or key
    said = f"{backend}: {code}: {message}"
    # Codes before statuses: SageMaker's ModelNotReadyException comes with a 429.
    if key in _THROTTLING_CODES:
        return Failure(BackendThrottled(said, retry_after_s=THROTTLED_RETRY_AFTER_S), True)
    if key in _TIMEOUT_CODES:
        return Failure(BackendTimeout(said), False)
    if key in _UNAVAILABLE_CODES or status >= 500:
        return Failure(BackendUnavailable(said), True)
    if status == 429:
        return Failure(BackendThrottled(said, retry_after_s=THROTTLED_RETRY_AFTER_S), True)
    hint = _HINTS.get(key)
    return Failure(BackendError(f"{said} ({hint})" if hint else said), False)


def _http_status_failure(error: httpx.HTTPStatusError, backend: str) -> Failure:
    status = error.response.status_code
    try:
        body = error.response.text[:300]
    except httpx.ResponseNotRead:
        body = ""
    said = f"{backend}: HTTP {status}: {body}".rstrip(": ")
    if status == 429:
        return Failure(BackendThrottled(said, retry_after_s=THROTTLED_RETRY_AFTER_S), True)
    if status in (408, 504):
        return Failure(BackendTimeout(said), False)
    if status >= 500:
        return Failure(BackendUnavailable(said), True)
    hint = " (check FMT_OPENAI__API_KEY)" if status in (401, 403) else ""
    return Failure(BackendError(said + hint), False)


def classify(error: BaseException, backend: str) -> Failure | None:
    """The app error an SDK or HTTP error stands for; None for errors that are not a backend's."""
    if isinstance(error, ServiceError):
        return Failure(error, False)
    if isinstance(error, ClientError):
        return _client_error_failure(error, backend)
    if isinstance(error, ReadTimeoutError | httpx.ReadTimeout | httpx.WriteTimeout):
        return Failure(BackendTimeout(f"{backend}: no answer within the read timeout"), False)
    if isinstance(error, ConnectTimeoutError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return Failure(BackendTimeout(f"{backend}: could not connect in time"), True)
    if isinstance(error, HTTPClientError | EndpointConnectionError | httpx.TransportError):
        return Failure(BackendUnavailable(f"{backend}: cannot be reached: {error}"), True)
    if isinstance(error, httpx.HTTPStatusError):
        return _http_status_failure(error, backend)
    if isinstance(error, urllib3.exceptions.ReadTimeoutError):
        # Event streams are read from urllib3 directly; botocore does not wrap these errors.
        return Failure(BackendTimeout(f"{backend}: stream stalled past the read timeout"), False)
    if isinstance(error, urllib3.exceptions.HTTPError):
        return Failure(BackendUnavailable(f"{backend}: connection broke: {error}"), True)
    if isinstance(error, NoCredentialsError | NoRegionError):
        hint = "set AWS_PROFILE or AWS credentials, and AWS_REGION"
        return Failure(BackendError(f"{backend}: {error} ({hint})"), False)
    if isinstance(error, BotoCoreError):
        return Failure(BackendError(f"{backend}: {error}"), False)
    return None


def as_service_error(error: BaseException, backend: str) -> BaseException:
    """`error` translated for clients, or unchanged when it is not a backend failure."""
    failure = classify(error, backend)
    return error if failure is None else failure.error


async def call_with_retries(
    operation: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    backend: str,
    *,
    deadline: float | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    draw: Callable[[], float] = random.random,
) -> T:
    """`operation()` until it succeeds, fails for good, or the deadline passes.

    `deadline` is a time of the running loop; by default the policy's deadline from now.
    """
    loop = asyncio.get_running_loop()
    if deadline is None:
        deadline = loop.time() + policy.deadline_s
    attempt = 0
    while True:
        try:
            async with asyncio.timeout_at(deadline):
                return await operation()
        except TimeoutError as error:
            if loop.time() < deadline:
                raise
            message = f"{backend}: no answer within the {policy.deadline_s:g} s deadline"
            raise BackendTimeout(message) from error
        except Exception as error:
            failure = classify(error, backend)
            if failure is None or failure.error is error:
                raise
            attempt += 1
            delay = policy.backoff_s(attempt - 1, draw)
            if not failure.retryable or attempt >= policy.max_attempts:
                raise failure.error from error
            if loop.time() + delay >= deadline:
                raise failure.error from error
            logger.warning(
                "retrying %s after %s",
                backend,
                failure.error.code,
                extra={"attempt": attempt, "delay_s": round(delay, 3), "error": str(error)},
            )
            await sleep(delay)


async def within_deadline(
    events: AsyncIterator[T], deadline: float, backend: str, deadline_s: float
) -> AsyncGenerator[T, None]:
    """The events of a stream, each awaited before the loop-time `deadline`; errors translated."""
    loop = asyncio.get_running_loop()
    try:
        while True:
            try:
                async with asyncio.timeout_at(deadline):
                    event = await anext(events)
            except StopAsyncIteration:
                return
            except TimeoutError as error:
                if loop.time() < deadline:
                    raise
                message = f"{backend}: stream not finished within the {deadline_s:g} s deadline"
                raise BackendTimeout(message) from error
            except Exception as error:
                translated = as_service_error(error, backend)
                if translated is error:
                    raise
                raise translated from error
            yield event
    finally:
        closer = getattr(events, "aclose", None)
        if closer is not None:
            await closer()
