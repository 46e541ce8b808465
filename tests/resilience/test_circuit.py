"""Circuit breakers: a failing backend is given a rest, /ready says so, and it comes back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from botocore.exceptions import ClientError

from app.core.errors import (
    BackendError,
    BackendTimeout,
    BackendUnavailable,
    InputRejected,
    ModelBusy,
)
from app.core.failures import as_service_error
from app.main import create_app
from app.resilience.breaker import CircuitBreaker
from app.settings import Settings
from app.wiring.compose import Backends
from app.wiring.fakes import FakeGenerator, FakeRetriever
from tests.conftest import SAMPLE_PASSAGES

QUESTION = {"question": "What pressure does the KX-420 use?"}
THRESHOLD = 3


class Switch:
    """A failure plan that fails while `broken` is true."""

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.broken = True

    def __call__(self, call: int) -> Exception | None:
        return self.error if self.broken else None


@pytest.fixture
def base() -> FakeGenerator:
    return FakeGenerator(answer="Base answer.", model_id="fake-base")


@pytest.fixture
def tuned() -> FakeGenerator:
    return FakeGenerator(answer="Tuned answer.", model_id="fake-tuned")


@pytest.fixture
async def client(base: FakeGenerator, tuned: FakeGenerator) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, circuit={"failure_threshold": THRESHOLD, "reset_s": 0.2}
    )
    backends = Backends(FakeRetriever(SAMPLE_PASSAGES), base, tuned)
    transport = httpx.ASGITransport(app=create_app(settings, backends=backends))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield client


async def fail_until_open(client: httpx.AsyncClient, path: str = "/rag") -> list[int]:
    return [(await client.post(path, json=QUESTION)).status_code for _ in range(THRESHOLD)]


async def test_consecutive_failures_open_the_circuit_and_calls_stop(
    client: httpx.AsyncClient, base: FakeGenerator
) -> None:
    base.failures = Switch(BackendTimeout("endpoint took too long"))
    assert await fail_until_open(client) == [504] * THRESHOLD

    calls_before = base.calls
    refused = await client.post("/rag", json=QUESTION)

    assert base.calls == calls_before  # the failing backend was not called again
    assert refused.status_code == 503
    error = refused.json()["error"]
    assert error["code"] == "backend_unavailable"
    assert "circuit open" in error["message"]
    assert int(refused.headers["retry-after"]) >= 1


async def test_ready_reports_the_open_circuit(
    client: httpx.AsyncClient, base: FakeGenerator
) -> None:
    ready = (await client.get("/ready")).json()
    assert ready["circuits"] == {"retriever": "closed", "base": "closed", "tuned": "closed"}

    base.failures = Switch(BackendUnavailable("connection refused"))
    await fail_until_open(client)
    response = await client.get("/ready")

    assert response.status_code == 503
    body = response.json()
    assert body["ready"] is False
    assert body["circuits"]["base"] == "open"
    assert body["circuits"]["tuned"] == "closed"
    assert "circuit open: base" in body["detail"]


async def test_other_backends_keep_answering_while_one_circuit_is_open(
    client: httpx.AsyncClient, base: FakeGenerator
) -> None:
    base.failures = Switch(BackendUnavailable("down"))
    await fail_until_open(client)

    assert (await client.post("/finetuned", json=QUESTION)).status_code == 200
    compared = (await client.post("/compare", json=QUESTION)).json()
    assert set(compared["results"]) == {"finetuned", "hybrid"}
    assert "circuit open" in compared["errors"]["rag"]["message"]


async def test_after_the_cool_down_one_success_closes_the_circuit(
    client: httpx.AsyncClient, base: FakeGenerator
) -> None:
    switch = Switch(BackendUnavailable("down"))
    base.failures = switch
    await fail_until_open(client)
    switch.broken = False
    assert (await client.post("/rag", json=QUESTION)).status_code == 503  # still resting

    await asyncio.sleep(0.25)
    assert (await client.get("/ready")).json()["circuits"]["base"] == "half_open"
    assert (await client.post("/rag", json=QUESTION)).status_code == 200
    ready = await client.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["circuits"]["base"] == "closed"


async def test_a_failed_trial_call_reopens_the_circuit(
    client: httpx.AsyncClient, base: FakeGenerator
) -> None:
    base.failures = Switch(BackendTimeout("slow"))
    await fail_until_open(client)
    await asyncio.sleep(0.25)

    assert (await client.post("/rag", json=QUESTION)).status_code == 504  # the trial, failing
    assert (await client.get("/ready")).json()["circuits"]["base"] == "open"


async def test_a_failing_stream_counts_as_a_failure(
    client: httpx.AsyncClient, tuned: FakeGenerator
) -> None:
    tuned.failures = Switch(BackendUnavailable("down"))
    for _ in range(THRESHOLD):
        await client.post("/finetuned", json={**QUESTION, "stream": True})
    assert (await client.get("/ready")).json()["circuits"]["tuned"] == "open"


async def test_failures_that_are_not_the_backends_do_not_open_it(
    client: httpx.AsyncClient, base: FakeGenerator
) -> None:
    base.failures = Switch(RuntimeError("a bug of ours"))
    for _ in range(THRESHOLD + 1):
        assert (await client.post("/rag", json=QUESTION)).status_code == 500
    assert (await client.get("/ready")).json()["circuits"]["base"] == "closed"


async def test_a_success_resets_the_count(client: httpx.AsyncClient, base: FakeGenerator) -> None:
    switch = Switch(BackendTimeout("slow"))
    base.failures = switch
    for _ in range(3):
        for _ in range(THRESHOLD - 1):
            await client.post("/rag", json=QUESTION)
        switch.broken = False
        assert (await client.post("/rag", json=QUESTION)).status_code == 200
        switch.broken = True
    assert (await client.get("/ready")).json()["circuits"]["base"] == "closed"


def test_half_open_lets_one_trial_through_at_a_time() -> None:
    now = [0.0]
    breaker = CircuitBreaker("base", failure_threshold=1, reset_s=10, clock=lambda: now[0])
    breaker.failed(trial=breaker.admit())
    assert breaker.state == "open"

    now[0] = 10.0
    assert breaker.admit() is True  # the trial
    with pytest.raises(BackendUnavailable) as second:
        breaker.admit()
    assert second.value.retry_after_s == 1.0
    breaker.abandoned(trial=True)  # e.g. the client went away: no verdict
    assert breaker.admit() is True
    breaker.succeeded(trial=True)
    assert breaker.state == "closed"
    assert breaker.admit() is False


def test_open_circuit_says_when_to_come_back() -> None:
    now = [0.0]
    breaker = CircuitBreaker("tuned", failure_threshold=2, reset_s=30, clock=lambda: now[0])
    for _ in range(2):
        breaker.failed(trial=breaker.admit())
    now[0] = 12.5
    with pytest.raises(BackendError) as refused:
        breaker.admit()
    assert refused.value.retry_after_s == 18
    assert "failed 2 times in a row" in str(refused.value)


async def test_inputs_the_model_refuses_never_open_its_circuit(
    client: httpx.AsyncClient, base: FakeGenerator
) -> None:
    base.failures = Switch(InputRejected("input is too long for the model"))
    statuses = [
        (await client.post("/rag", json=QUESTION)).status_code for _ in range(THRESHOLD * 2)
    ]

    assert statuses == [422] * (THRESHOLD * 2)
    ready = await client.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["circuits"]["base"] == "closed"


def aws_refusal(code: str, message: str, status: int) -> Exception:
    """What the Bedrock generator raises for an AWS error: its classification, as in production."""
    error = ClientError(
        {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        "Converse",
    )
    return as_service_error(error, "bedrock")


CLIENT_CAUSED = [
    (aws_refusal("ValidationException", "Input is too long for requested model.", 400), 422),
    (
        aws_refusal("AccessDeniedException", "User: arn:aws:iam::1:role/x is not authorized", 403),
        502,
    ),
    (aws_refusal("ValidationException", "The provided model identifier is invalid.", 400), 502),
    (ModelBusy("the local model base is busy", retry_after_s=2), 503),
]


@pytest.mark.parametrize(
    ("error", "status"),
    CLIENT_CAUSED,
    ids=["input-too-long", "access-denied", "bad-model-id", "queue-overload"],
)
async def test_errors_that_are_not_the_backends_fault_never_open_its_circuit(
    client: httpx.AsyncClient, base: FakeGenerator, error: Exception, status: int
) -> None:
    base.failures = Switch(error)
    for _ in range(THRESHOLD + 2):
        assert (await client.post("/rag", json=QUESTION)).status_code == status
        assert (await client.post("/rag", json={**QUESTION, "stream": True})).status_code in (
            status,
            200,  # the sources went out first; the stream ends with an error event
        )

    ready = await client.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["circuits"]["base"] == "closed"
    base.failures = Switch(BackendTimeout("slow"))  # a real fault still counts from zero
    assert await fail_until_open(client) == [504] * THRESHOLD
    assert (await client.get("/ready")).status_code == 503


async def test_overload_is_a_503_with_retry_after(
    client: httpx.AsyncClient, base: FakeGenerator
) -> None:
    base.failures = Switch(ModelBusy("the local model base is busy", retry_after_s=2))
    refused = await client.post("/rag", json=QUESTION)

    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "overloaded"
    assert refused.headers["retry-after"] == "2"


async def test_a_half_open_trial_refused_by_the_client_gives_the_trial_back(
    client: httpx.AsyncClient, base: FakeGenerator
) -> None:
    switch = Switch(BackendTimeout("slow"))
    base.failures = switch
    await fail_until_open(client)
    await asyncio.sleep(0.25)
    switch.error = CLIENT_CAUSED[0][0]  # the trial call: the input's fault, no verdict

    assert (await client.post("/rag", json=QUESTION)).status_code == 422
    switch.broken = False
    assert (await client.post("/rag", json=QUESTION)).status_code == 200  # a new trial
    assert (await client.get("/ready")).json()["circuits"]["base"] == "closed"
