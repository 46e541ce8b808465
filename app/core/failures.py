"""What an AWS SDK or HTTP error from a backend means: the app error a client gets, and whether
trying again may help.

The client's message says what kind of failure it was (the backend, the AWS error code or HTTP
status, an actionable hint); what the backend wrote goes to the error's `detail`, for the log.
A refusal of the input itself (too long, filtered) is the client's (`InputRejected`, 422); other
refusals are ours to fix (`BackendRejected`); neither counts against the backend's circuit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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

from app.core.errors import (
    BackendError,
    BackendRejected,
    BackendThrottled,
    BackendTimeout,
    BackendUnavailable,
    InputRejected,
    ServiceError,
)

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
# How backends word a refusal of the input itself: Bedrock's ValidationException ("Input is too
# long for requested model", "too many input tokens"), OpenAI's context_length_exceeded,
# llama.cpp server's "exceeds the available context size", content filters.
_INPUT_REFUSED = re.compile(
    r"too long|too many (input )?tokens|context[ _](length|size|window)|maximum context"
    r"|exceeds? the (available|maximum)|content[ _](filter|management|policy)",
    re.IGNORECASE,
)
_INPUT_REFUSED_MESSAGE = (
    "the {backend} backend refused this input (too long for the model, or filtered); "
    "shorten the question, or ask for fewer passages (top_k) or tokens (max_tokens)"
)
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
class Failure:
    """What an SDK error means to a client, and whether trying again may help."""

    error: ServiceError
    retryable: bool


def _refusal(
    backend: str, said: str, detail: str, hint: str | None, model_failed: bool = False
) -> Failure:
    """A 4xx that is neither throttling nor a timeout: the input's fault, the model's (a
    container's own error), or ours."""
    if _INPUT_REFUSED.search(detail):
        return Failure(
            InputRejected(_INPUT_REFUSED_MESSAGE.format(backend=backend), detail=detail), False
        )
    if model_failed:
        return Failure(BackendError(said, detail=detail), False)
    return Failure(BackendRejected(f"{said} ({hint})" if hint else said, detail=detail), False)


def _client_error_failure(error: ClientError, backend: str) -> Failure:
    details = error.response.get("Error", {})
    code = str(details.get("Code", "Unknown"))
    detail = str(details.get("Message", "")) or str(error)
    status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    key = code.lower()
    # SageMaker's ModelStreamError says what happened in ErrorCode (app.generators.streaming).
    key = str(details.get("ErrorCode", "")).lower() or key
    said = f"{backend}: {code}"
    # Codes before statuses: SageMaker's ModelNotReadyException comes with a 429.
    if key in _THROTTLING_CODES:
        throttled = BackendThrottled(said, retry_after_s=THROTTLED_RETRY_AFTER_S, detail=detail)
        return Failure(throttled, True)
    if key in _TIMEOUT_CODES:
        return Failure(BackendTimeout(said, detail=detail), False)
    if key in _UNAVAILABLE_CODES or status >= 500:
        return Failure(BackendUnavailable(said, detail=detail), True)
    if status == 429:
        throttled = BackendThrottled(said, retry_after_s=THROTTLED_RETRY_AFTER_S, detail=detail)
        return Failure(throttled, True)
    return _refusal(backend, said, detail, _HINTS.get(key), model_failed=key == "modelerror")


def _http_status_failure(error: httpx.HTTPStatusError, backend: str) -> Failure:
    status = error.response.status_code
    try:
        detail = error.response.text[:300]
    except httpx.ResponseNotRead:
        detail = ""
    said = f"{backend}: HTTP {status}"
    if status == 429:
        throttled = BackendThrottled(said, retry_after_s=THROTTLED_RETRY_AFTER_S, detail=detail)
        return Failure(throttled, True)
    if status in (408, 504):
        return Failure(BackendTimeout(said, detail=detail), False)
    if status >= 500:
        return Failure(BackendUnavailable(said, detail=detail), True)
    hint = "check FMT_OPENAI__API_KEY" if status in (401, 403) else None
    return _refusal(backend, said, detail, hint)


def classify(error: BaseException, backend: str) -> Failure | None:
    """The app error an SDK or HTTP error stands for; None for errors that are not a backend's."""
    if isinstance(error, ServiceError):
        return Failure(error, False)
    if isinstance(error, ClientError):
        return _client_error_failure(error, backend)
    detail = str(error)
    if isinstance(error, ReadTimeoutError | httpx.ReadTimeout | httpx.WriteTimeout):
        timeout = BackendTimeout(f"{backend}: no answer within the read timeout", detail=detail)
        return Failure(timeout, False)
    if isinstance(error, ConnectTimeoutError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return Failure(BackendTimeout(f"{backend}: could not connect in time", detail=detail), True)
    if isinstance(error, HTTPClientError | EndpointConnectionError | httpx.TransportError):
        return Failure(BackendUnavailable(f"{backend}: cannot be reached", detail=detail), True)
    if isinstance(error, httpx.HTTPStatusError):
        return _http_status_failure(error, backend)
    if isinstance(error, urllib3.exceptions.ReadTimeoutError):
        # Event streams are read from urllib3 directly; botocore does not wrap these errors.
        stalled = BackendTimeout(f"{backend}: stream stalled past the read timeout", detail=detail)
        return Failure(stalled, False)
    if isinstance(error, urllib3.exceptions.HTTPError):
        return Failure(BackendUnavailable(f"{backend}: connection broke", detail=detail), True)
    if isinstance(error, NoCredentialsError | NoRegionError):
        hint = "set AWS_PROFILE or AWS credentials, and AWS_REGION"
        return Failure(BackendRejected(f"{backend}: {error} ({hint})"), False)
    if isinstance(error, BotoCoreError):
        return Failure(
            BackendRejected(f"{backend}: the AWS SDK refused the call", detail=detail), False
        )
    return None


def as_service_error(error: BaseException, backend: str) -> BaseException:
    """`error` translated for clients, or unchanged when it is not a backend failure."""
    failure = classify(error, backend)
    return error if failure is None else failure.error
