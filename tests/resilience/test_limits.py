"""Rate limits, backend concurrency limits, body size and content type, through the HTTP API."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from app.http.auth import digest_of
from app.main import create_app
from app.resilience.rate_limit import RateLimiter
from app.settings import Settings
from app.wiring.compose import Backends
from app.wiring.fakes import FakeGenerator, FakeRetriever
from tests.conftest import SAMPLE_PASSAGES

QUESTION = {"question": "What pressure does the KX-420 use?"}


def make_client(
    tuned: FakeGenerator | None = None, client_address: str = "10.0.0.1", **overrides: Any
) -> httpx.AsyncClient:
    settings = Settings(_env_file=None, **overrides)  # type: ignore[call-arg]
    backends = Backends(FakeRetriever(SAMPLE_PASSAGES), FakeGenerator(), tuned or FakeGenerator())
    app = create_app(settings, backends=backends)
    transport = httpx.ASGITransport(app=app, client=(client_address, 5000))
    return httpx.AsyncClient(transport=transport, base_url="http://t")


def assert_json_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    assert error["request_id"] == response.headers["x-request-id"]
    return error


async def test_a_client_over_its_rate_gets_429_with_retry_after() -> None:
    async with make_client(limits={"rate_limit_per_minute": 60, "burst": 3}) as client:
        answers = [await client.post("/rag", json=QUESTION) for _ in range(4)]

    assert [a.status_code for a in answers[:3]] == [200, 200, 200]
    error = assert_json_error(answers[3], 429, "rate_limited")
    assert "60 requests per minute" in error["message"]
    assert answers[3].headers["retry-after"] == "1"


async def test_each_api_key_has_its_own_bucket() -> None:
    keys = ["key-one", "key-two"]
    limits = {"rate_limit_per_minute": 6, "burst": 1}
    async with make_client(api_keys=[digest_of(k) for k in keys], limits=limits) as client:
        first = [await client.post("/rag", json=QUESTION, headers={"X-API-Key": k}) for k in keys]
        again = await client.post("/rag", json=QUESTION, headers={"X-API-Key": "key-one"})

    assert [answer.status_code for answer in first] == [200, 200]
    assert_json_error(again, 429, "rate_limited")
    assert int(again.headers["retry-after"]) == 10  # 6 per minute: a token every 10 s


async def test_health_is_never_rate_limited() -> None:
    async with make_client(limits={"rate_limit_per_minute": 60, "burst": 1}) as client:
        await client.post("/rag", json=QUESTION)
        statuses = {(await client.get("/health")).status_code for _ in range(5)}
    assert statuses == {200}


def test_the_bucket_refills_with_time_and_forgets_idle_clients() -> None:
    now = [0.0]
    limiter = RateLimiter(per_minute=60, burst=2, clock=lambda: now[0], max_clients=3)

    assert [limiter.wait_s("a") for _ in range(3)] == [0.0, 0.0, 1.0]
    now[0] = 0.5
    assert limiter.wait_s("a") == pytest.approx(0.5)
    now[0] = 1.0
    assert limiter.wait_s("a") == 0.0

    for client in ("b", "c", "d"):
        limiter.wait_s(client)
    now[0] = 100.0
    limiter.wait_s("e")
    assert limiter.client_count <= 3  # memory stays bounded under many addresses


async def test_a_busy_backend_refuses_calls_past_its_in_flight_limit() -> None:
    slow = FakeGenerator(delay_s=0.3, model_id="slow-tuned")
    async with make_client(tuned=slow, limits={"max_in_flight_per_backend": 2}) as client:
        answers = await asyncio.gather(
            *(client.post("/finetuned", json=QUESTION) for _ in range(4))
        )
        calls_while_busy = slow.calls
        other_backend = await client.post("/rag", json=QUESTION)  # base is not the busy one
        afterwards = await client.post("/finetuned", json=QUESTION)

    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200, 200, 503, 503]  # overload, not the client's rate
    refused = next(answer for answer in answers if answer.status_code == 503)
    error = assert_json_error(refused, 503, "overloaded")
    assert "tuned backend is busy" in error["message"]
    assert refused.headers["retry-after"] == "1"
    assert calls_while_busy == 2  # refused calls never reached the model
    assert other_backend.status_code == 200
    assert afterwards.status_code == 200  # slots are given back


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(limits={"max_body_bytes": 2048}) as client:
        yield client


async def test_a_body_over_the_limit_is_a_413(client: httpx.AsyncClient) -> None:
    body = json.dumps({"question": "x" * 3000})
    response = await client.post("/rag", content=body, headers={"Content-Type": "application/json"})
    error = assert_json_error(response, 413, "payload_too_large")
    assert "2048 bytes" in error["message"]


async def test_a_chunked_body_over_the_limit_is_a_413(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"question": "'
        for _ in range(10):
            yield b"x" * 500
        yield b'"}'

    response = await client.post(
        "/rag", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert_json_error(response, 413, "payload_too_large")


async def test_a_chunked_body_under_the_limit_is_answered(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"question": '
        yield b'"KX-420 pressure?"}'

    response = await client.post(
        "/rag", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
async def test_a_body_that_is_not_json_is_a_415(
    client: httpx.AsyncClient, content_type: str
) -> None:
    response = await client.post(
        "/rag", content=json.dumps(QUESTION), headers={"Content-Type": content_type}
    )
    error = assert_json_error(response, 415, "unsupported_media_type")
    assert "application/json" in error["message"]


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json; charset=utf-8", "application/x+json"]
)
async def test_json_media_types_are_accepted(client: httpx.AsyncClient, content_type: str) -> None:
    response = await client.post(
        "/rag", content=json.dumps(QUESTION), headers={"Content-Type": content_type}
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ('{"question": ', "JSON decode error"),
        ('{"question": "q", "stream": 0}', "stream"),
        ('{"question": "q", "top_k": "5"}', "top_k"),
        ('{"question": "' + "x" * 1900 + '", "max_tokens": 99999}', "max_tokens"),
    ],
)
async def test_malformed_or_mistyped_json_is_a_422(
    client: httpx.AsyncClient, body: str, problem: str
) -> None:
    response = await client.post("/rag", content=body, headers={"Content-Type": "application/json"})
    error = assert_json_error(response, 422, "invalid_request")
    assert problem in error["message"]


async def test_a_question_over_4000_characters_is_a_422() -> None:
    async with make_client() as client:
        response = await client.post("/rag", json={"question": "x" * 4001})
    error = assert_json_error(response, 422, "invalid_request")
    assert "question" in error["message"]


async def test_a_whole_number_written_as_a_float_is_accepted(client: httpx.AsyncClient) -> None:
    response = await client.post("/rag", json={"question": "q", "top_k": 1.0})
    assert response.status_code == 200
    assert len(response.json()["sources"]) == 1


def test_a_flood_of_new_addresses_evicts_the_least_recent_not_every_bucket() -> None:
    now = [0.0]
    limiter = RateLimiter(per_minute=60, burst=1, clock=lambda: now[0], max_clients=3)
    for client in ("a", "b", "c"):
        assert limiter.wait_s(client) == 0.0
    limiter.wait_s("b")  # b is over its rate, and now the most recent

    limiter.wait_s("d")  # a fourth address: the least recently seen bucket (a) goes

    assert limiter.client_count == 3
    assert limiter.wait_s("b") > 0  # b is still limited: its bucket was kept


def test_a_full_limiter_forgets_the_least_recently_seen_client_only() -> None:
    now = [0.0]
    limiter = RateLimiter(per_minute=60, burst=1, clock=lambda: now[0], max_clients=3)
    assert limiter.wait_s("busy") == 0.0
    for client in ("b", "c"):
        limiter.wait_s(client)

    limiter.wait_s("busy")  # seen again: now the most recent
    limiter.wait_s("d")  # full: "b", the least recently seen, goes

    assert limiter.client_count == 3
    assert limiter.wait_s("busy") > 0  # still paced: its bucket was kept, not cleared
    assert limiter.wait_s("b") == 0.0  # forgotten, so it starts with a full bucket
