"""Prometheus metrics at /metrics and one structured log line per request."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.core.errors import BackendThrottled
from app.core.request_id import request_id_for
from app.core.types import ChatMessage
from app.main import create_app
from app.settings import Settings
from app.wiring.compose import Backends
from app.wiring.fakes import FakeGenerator, FakeRetriever
from tests.conftest import SAMPLE_PASSAGES

SECRET_QUESTION = "Where is order 5512 of Jane Example shipped?"


def make_client(base: FakeGenerator | None = None, **overrides: Any) -> httpx.AsyncClient:
    settings = Settings(_env_file=None, **overrides)  # type: ignore[call-arg]
    backends = Backends(
        FakeRetriever(SAMPLE_PASSAGES),
        base or FakeGenerator(answer="Base answer: 210 bar.", model_id="fake-base"),
        FakeGenerator(answer="Tuned answer.", model_id="fake-tuned"),
    )
    transport = httpx.ASGITransport(app=create_app(settings, backends=backends))
    return httpx.AsyncClient(transport=transport, base_url="http://t")


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with make_client() as client:
        yield client


async def scrape(client: httpx.AsyncClient) -> dict[tuple[str, frozenset[Any]], float]:
    """Every sample of /metrics by (name, labels)."""
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: dict[tuple[str, frozenset[Any]], float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def access_lines(logged: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in logged.splitlines() if line.startswith("{")]
    return [line for line in lines if line["logger"] == "app.access"]


async def test_requests_are_counted_by_route_and_status(client: httpx.AsyncClient) -> None:
    await client.post("/rag", json={"question": "q"})
    await client.post("/rag", json={"question": "q"})
    await client.post("/rag", json={"question": ""})
    await client.get("/no-such-page")
    samples = await scrape(client)

    requests = "fmt_http_requests_total"
    assert value(samples, requests, route="/rag", method="POST", status="200") == 2
    assert value(samples, requests, route="/rag", method="POST", status="422") == 1
    assert value(samples, requests, route="unmatched", method="GET", status="404") == 1
    assert value(samples, "fmt_http_request_duration_seconds_count", route="/rag") == 3


async def test_stage_latencies_and_tokens_are_recorded_per_strategy(
    client: httpx.AsyncClient,
) -> None:
    await client.post("/rag", json={"question": "KX-420 pressure?"})
    await client.post("/finetuned", json={"question": "KX-420 pressure?", "stream": True})
    samples = await scrape(client)

    stage = "fmt_stage_duration_seconds_count"
    assert value(samples, stage, strategy="rag", stage="retrieve") == 1
    assert value(samples, stage, strategy="rag", stage="generate") == 1
    assert value(samples, stage, strategy="finetuned", stage="generate") == 1
    assert value(samples, stage, strategy="finetuned", stage="retrieve") == 0
    assert value(samples, "fmt_tokens_total", strategy="rag", direction="output") == 4
    assert value(samples, "fmt_tokens_total", strategy="rag", direction="input") > 10
    assert value(samples, "fmt_tokens_total", strategy="finetuned", direction="output") == 2


async def test_backend_errors_are_counted_by_kind() -> None:
    failing = FakeGenerator(failures=lambda call: BackendThrottled("slow down"))
    async with make_client(base=failing, circuit={"failure_threshold": 2}) as client:
        for _ in range(3):
            await client.post("/rag", json={"question": "q"})
        samples = await scrape(client)

    errors = "fmt_backend_errors_total"
    assert value(samples, errors, backend="base", kind="backend_throttled") == 2
    assert value(samples, errors, backend="base", kind="circuit_open") == 1
    assert value(samples, "fmt_circuit_state", backend="base") == 2
    assert value(samples, "fmt_circuit_state", backend="tuned") == 0


@dataclass
class HeldGenerator(FakeGenerator):
    """Answers once `release` is set; `waiting` is set when `expected` calls wait for it."""

    expected: int = 2
    release: asyncio.Event = field(default_factory=asyncio.Event)
    waiting: asyncio.Event = field(default_factory=asyncio.Event)
    entered: int = 0

    async def _begin(self, messages: Sequence[ChatMessage]) -> str:
        self.entered += 1
        if self.entered == self.expected:
            self.waiting.set()
        await self.release.wait()
        return await super()._begin(messages)


async def test_in_flight_requests_are_a_gauge() -> None:
    held = HeldGenerator()
    async with make_client(base=held) as client:
        pending = [asyncio.create_task(client.post("/rag", json={"question": "q"})) for _ in "ab"]
        await asyncio.wait_for(held.waiting.wait(), timeout=30)
        during = await scrape(client)
        held.release.set()
        await asyncio.gather(*pending)
        after = await scrape(client)

    assert value(during, "fmt_http_requests_in_flight") == 3  # two answers and the scrape
    assert value(after, "fmt_http_requests_in_flight") == 1


async def test_each_request_logs_one_json_line_without_the_question(
    client: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    response = await client.post("/rag", json={"question": SECRET_QUESTION})
    logged = capsys.readouterr().err
    (line,) = [line for line in access_lines(logged) if line["route"] == "/rag"]

    assert line["request_id"] == response.headers["x-request-id"]
    assert line["status"] == 200
    assert line["method"] == "POST"
    assert line["duration_ms"] > 0
    assert set(line["stages_ms"]) == {"rag.retrieve", "rag.generate"}
    assert line["backends"] == {"retriever": "fake", "base": "fake"}
    assert line["tokens"]["output"] == 4
    assert line["client"].startswith("client:")
    assert "Jane Example" not in logged
    assert "prompts" not in line


async def test_prompts_are_logged_only_when_asked(capsys: pytest.CaptureFixture[str]) -> None:
    async with make_client(log_prompts=True) as client:
        await client.post("/finetuned", json={"question": SECRET_QUESTION})
    (line,) = access_lines(capsys.readouterr().err)
    assert any(SECRET_QUESTION in prompt for prompt in line["prompts"])


async def test_compare_logs_the_stages_of_all_three(
    client: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    await client.post("/compare", json={"question": "q"})
    (line,) = access_lines(capsys.readouterr().err)
    assert set(line["stages_ms"]) == {
        "rag.retrieve",
        "rag.generate",
        "finetuned.generate",
        "hybrid.retrieve",
        "hybrid.generate",
    }


async def test_backend_failures_are_in_the_log_line(capsys: pytest.CaptureFixture[str]) -> None:
    failing = FakeGenerator(failures=lambda call: BackendThrottled("slow down"))
    async with make_client(base=failing) as client:
        response = await client.post("/rag", json={"question": "q"})
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    access = next(line for line in lines if line["logger"] == "app.access")
    warning = next(line for line in lines if line["level"] == "WARNING")

    assert access["status"] == 503
    assert access["backend_errors"] == ["base:backend_throttled"]
    assert warning["request_id"] == access["request_id"] == response.headers["x-request-id"]


async def test_text_format_carries_the_request_id(capsys: pytest.CaptureFixture[str]) -> None:
    async with make_client(log_format="text") as client:
        response = await client.post("/rag", json={"question": "q"})
    logged = capsys.readouterr().err
    assert f"[{response.headers['x-request-id']}] POST /rag 200" in logged


async def test_health_checks_do_not_flood_the_log(
    client: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    for _ in range(3):
        await client.get("/health")
    assert access_lines(capsys.readouterr().err) == []


def test_a_request_id_with_a_trailing_newline_is_replaced() -> None:
    scope = {"headers": [(b"x-request-id", b"trace-1\n")]}
    kept = {"headers": [(b"x-request-id", b"trace-1")]}
    assert request_id_for(scope) != "trace-1\n"
    assert request_id_for(kept) == "trace-1"
