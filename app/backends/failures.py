"""What an AWS SDK or HTTP error from a backend means: the app error a client gets, and whether
trying again may help."""

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

from app.errors import (
    BackendError,
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
# How backends say an input does not fit the model (Bedrock, OpenAI-compatible servers, vLLM).
_INPUT_TOO_LONG = re.compile(
    r"too long|context length|context window|maximum context|too many (input )?tokens",
    re.IGNORECASE,
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
    if key == "validationexception" and _INPUT_TOO_LONG.search(message):
        return Failure(InputRejected(said), False)
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
    if status in (400, 413, 422) and _INPUT_TOO_LONG.search(body):
        return Failure(InputRejected(said), False)
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
