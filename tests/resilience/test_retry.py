"""Retries, backoff and the deadline, and which SDK errors become which app errors."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
import urllib3.exceptions
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from app.core.errors import (
    BackendError,
    BackendRejected,
    BackendThrottled,
    BackendTimeout,
    BackendUnavailable,
)
from app.core.failures import classify
from app.resilience.retry import RetryPolicy, call_with_retries, within_deadline

POLICY = RetryPolicy(max_attempts=4, base_delay_s=0.0, max_delay_s=0.0, deadline_s=2.0)


def client_error(code: str, status: int, message: str = "details from AWS") -> ClientError:
    response = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, "Converse")  # type: ignore[arg-type]


def http_status_error(status: int, body: str = "") -> httpx.HTTPStatusError:
    request = httpx.Request("POST", "http://127.0.0.1:8080/v1/chat/completions")
    response = httpx.Response(status, text=body, request=request)
    return httpx.HTTPStatusError("failed", request=request, response=response)


def failing(
    *errors: BaseException, then: str = "ok"
) -> tuple[Callable[[], Awaitable[str]], list[int]]:
    """An operation raising `errors` one per call, then answering; and its call count."""
    calls = [0]

    async def operation() -> str:
        calls[0] += 1
        if calls[0] <= len(errors):
            raise errors[calls[0] - 1]
        return then

    return operation, calls


async def test_throttling_is_retried_until_it_gets_through() -> None:
    operation, calls = failing(
        client_error("ThrottlingException", 429), client_error("ThrottlingException", 429)
    )

    assert await call_with_retries(operation, POLICY, "bedrock") == "ok"
    assert calls[0] == 3


async def test_throttling_every_time_becomes_backend_throttled_after_all_attempts() -> None:
    operation, calls = failing(*[client_error("ThrottlingException", 400)] * 10)

    with pytest.raises(BackendThrottled) as raised:
        await call_with_retries(operation, POLICY, "bedrock")

    assert calls[0] == POLICY.max_attempts
    assert raised.value.status_code == 503
    assert raised.value.retry_after_s is not None
    assert "ThrottlingException" in raised.value.message


@pytest.mark.parametrize(
    "error",
    [
        client_error("ServiceUnavailableException", 503),
        client_error("ModelNotReadyException", 429),
        client_error("InternalFailure", 500),
        EndpointConnectionError(endpoint_url="https://bedrock-runtime.us-east-1.amazonaws.com"),
        http_status_error(502),
        httpx.ConnectError("refused"),
    ],
    ids=["503", "model-not-ready", "internal", "no-connection", "http-502", "http-connect"],
)
async def test_server_failures_are_retried_then_unavailable(error: BaseException) -> None:
    operation, calls = failing(*[error] * 10)

    with pytest.raises(BackendUnavailable) as raised:
        await call_with_retries(operation, POLICY, "backend")

    assert calls[0] == POLICY.max_attempts
    assert type(raised.value) is BackendUnavailable


async def test_one_server_failure_then_success_answers() -> None:
    operation, calls = failing(client_error("ModelNotReadyException", 424))

    assert await call_with_retries(operation, POLICY, "sagemaker") == "ok"
    assert calls[0] == 2


@pytest.mark.parametrize(
    ("error", "expected_words"),
    [
        (
            client_error("ValidationException", 400, "The model id is invalid"),
            "model id is invalid",
        ),
        (client_error("AccessDeniedException", 403, "not authorized"), "IAM"),
        (http_status_error(400, '{"error": "max_tokens too large"}'), "max_tokens too large"),
        (http_status_error(401), "FMT_OPENAI__API_KEY"),
    ],
    ids=["validation", "access-denied", "http-400", "http-401"],
)
async def test_client_errors_fail_at_once_with_a_clear_message(
    error: BaseException, expected_words: str
) -> None:
    operation, calls = failing(error)

    with pytest.raises(BackendError) as raised:
        await call_with_retries(operation, POLICY, "backend")

    assert calls[0] == 1
    assert type(raised.value) is BackendRejected  # ours to fix: never opens a circuit
    assert raised.value.status_code == 502
    assert expected_words in raised.value.log_text()


@pytest.mark.parametrize(
    "error",
    [ReadTimeoutError(endpoint_url="https://runtime.sagemaker"), httpx.ReadTimeout("slow")],
    ids=["botocore", "httpx"],
)
async def test_read_timeouts_become_backend_timeout_without_retry(error: BaseException) -> None:
    operation, calls = failing(error)

    with pytest.raises(BackendTimeout) as raised:
        await call_with_retries(operation, POLICY, "backend")

    assert calls[0] == 1
    assert raised.value.status_code == 504


async def test_a_hanging_call_ends_at_the_deadline() -> None:
    async def hang() -> str:
        await asyncio.sleep(60)
        return "never"

    policy = RetryPolicy(max_attempts=3, base_delay_s=0.0, max_delay_s=0.0, deadline_s=0.2)
    started = time.perf_counter()
    with pytest.raises(BackendTimeout, match=r"0\.2 s deadline"):
        await call_with_retries(hang, policy, "bedrock")

    assert time.perf_counter() - started < 60  # the deadline ended it, not the call


async def test_no_backoff_sleep_runs_past_the_deadline() -> None:
    operation, calls = failing(*[client_error("ThrottlingException", 429)] * 10)
    policy = RetryPolicy(max_attempts=10, base_delay_s=30.0, max_delay_s=30.0, deadline_s=0.5)
    started = time.perf_counter()

    with pytest.raises(BackendThrottled):
        await call_with_retries(operation, policy, "bedrock", draw=lambda: 1.0)

    assert time.perf_counter() - started < 30  # no 30 s backoff slept
    assert calls[0] == 1


async def test_backoff_is_exponential_capped_and_jittered() -> None:
    policy = RetryPolicy(max_attempts=6, base_delay_s=0.1, max_delay_s=0.5, deadline_s=60)
    slept: list[float] = []

    async def record(delay: float) -> None:
        slept.append(delay)

    operation, _ = failing(*[client_error("ThrottlingException", 429)] * 5)
    await call_with_retries(operation, policy, "bedrock", sleep=record, draw=lambda: 1.0)

    assert slept == pytest.approx([0.1, 0.2, 0.4, 0.5, 0.5])
    assert policy.backoff_s(3, draw=lambda: 0.25) == pytest.approx(0.125)  # a quarter of the cap


async def test_errors_that_are_not_a_backends_are_not_retried_or_renamed() -> None:
    operation, calls = failing(KeyError("bug"))

    with pytest.raises(KeyError):
        await call_with_retries(operation, POLICY, "bedrock")
    assert calls[0] == 1
    assert classify(KeyError("bug"), "bedrock") is None


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (urllib3.exceptions.ReadTimeoutError(None, "/", "read timed out"), BackendTimeout),
        (urllib3.exceptions.ProtocolError("connection broken"), BackendUnavailable),
    ],
    ids=["read-timeout", "broken"],
)
def test_urllib3_errors_from_an_event_stream_are_translated(
    error: BaseException, expected: type[BackendError]
) -> None:
    failure = classify(error, "bedrock")

    assert failure is not None
    assert type(failure.error) is expected


async def test_event_stream_errors_spelled_in_camel_case_are_recognised() -> None:
    failure = classify(client_error("throttlingException", 0), "bedrock")

    assert failure is not None
    assert isinstance(failure.error, BackendThrottled)


async def _slow_events() -> AsyncIterator[str]:
    yield "first"
    await asyncio.sleep(60)
    yield "never"


async def test_a_stream_that_stalls_ends_at_the_deadline() -> None:
    deadline = asyncio.get_running_loop().time() + 0.2
    received = []

    with pytest.raises(BackendTimeout):
        async for item in within_deadline(_slow_events(), deadline, "bedrock", 0.2):
            received.append(item)

    assert received == ["first"]


async def test_a_stream_error_is_translated() -> None:
    async def throttled() -> AsyncIterator[str]:
        yield "first"
        raise client_error("throttlingException", 0)

    deadline = asyncio.get_running_loop().time() + 5
    with pytest.raises(BackendThrottled):
        async for _ in within_deadline(throttled(), deadline, "bedrock", 5):
            pass


@pytest.mark.parametrize(
    "error",
    [
        client_error("ValidationException", 400, "Input is too long for requested model."),
        http_status_error(
            400, '{"error": {"message": "This model\'s maximum context length is 2048 tokens"}}'
        ),
    ],
    ids=["bedrock-too-long", "openai-context-length"],
)
def test_an_input_the_model_cannot_take_is_the_clients_422_not_a_backend_failure(
    error: BaseException,
) -> None:
    failure = classify(error, "backend")

    assert failure is not None and not failure.retryable
    assert failure.error.status_code == 422
    assert failure.error.code == "input_rejected"
