"""Load: thousands of mixed requests at high concurrency against a real uvicorn server whose fake
backends are slow at random and sometimes fail. Every request must get a well-formed answer,
none may hang, and the server's memory must stay bounded."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from app.http.auth import digest_of
from tests.conftest import ANSWER_KEYS
from tests.load.server import running_server
from tests.sse import sse_events

logger = logging.getLogger(__name__)

REQUESTS = 3000
CONCURRENCY = 200
WARM_UP_REQUESTS = 300
CLIENT_TIMEOUT_S = 20.0
MAX_RSS_GROWTH_MB = 60.0
KEY = "load-test-key"
ERROR_CODES = {
    401: {"unauthorized"},
    422: {"invalid_request"},
    429: {"rate_limited"},
    502: {"backend_error"},
    503: {"backend_unavailable", "backend_throttled", "overloaded"},
    504: {"backend_timeout"},
}
GOOD_KEY = {"Authorization": f"Bearer {KEY}"}
QUESTION = {"question": "What pressure does the KX-420 run at?"}


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    body: dict[str, Any] | None
    headers: dict[str, str]
    expected_status: int | None = None  # None: 200 or a backend / limit error


MIX = [
    Call("POST", "/rag", QUESTION, GOOD_KEY),
    Call("POST", "/finetuned", QUESTION, GOOD_KEY),
    Call("POST", "/hybrid", QUESTION, GOOD_KEY),
    Call("POST", "/compare", QUESTION, GOOD_KEY),
    Call("POST", "/hybrid", {**QUESTION, "stream": True}, GOOD_KEY),
    Call("POST", "/rag", {"question": ""}, GOOD_KEY, expected_status=422),
    Call("POST", "/rag", QUESTION, {"X-API-Key": "wrong"}, expected_status=401),
    Call("GET", "/health", None, {}, expected_status=200),
]


def check_error(response: httpx.Response) -> str:
    error = response.json()["error"]
    assert error["code"] in ERROR_CODES[response.status_code], error
    assert error["message"]
    assert error["request_id"] == response.headers["x-request-id"]
    if response.status_code in (429, 503) and error["code"] != "backend_unavailable":
        assert int(response.headers["retry-after"]) >= 1
    return str(error["code"])


def check_stream(response: httpx.Response) -> str:
    event, data = sse_events(response.text)[-1]
    if event == "done":
        assert set(data) == ANSWER_KEYS
        return "ok"
    assert event == "error", (event, data)
    return f"stream:{data['error']['code']}"


def check(call: Call, response: httpx.Response) -> str:
    """The kind of a well-formed answer; an AssertionError for anything else."""
    if call.expected_status is not None:
        assert response.status_code == call.expected_status, response.text
    if response.status_code != 200:
        return check_error(response)
    if response.headers["content-type"].startswith("text/event-stream"):
        return check_stream(response)
    body = response.json()
    if call.path == "/compare":
        assert set(body["results"]) | set(body["errors"]) == {"rag", "finetuned", "hybrid"}
    elif call.path != "/health":
        assert set(body) == ANSWER_KEYS
        assert body["request_id"] == response.headers["x-request-id"]
    return "ok"


async def send_all(url: str, total: int, concurrency: int) -> Counter[str]:
    outcomes: Counter[str] = Counter()
    semaphore = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    timeout = httpx.Timeout(CLIENT_TIMEOUT_S)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=timeout) as client:

        async def one(index: int) -> None:
            call = MIX[index % len(MIX)]
            async with semaphore:
                try:
                    response = await client.request(
                        call.method, call.path, json=call.body, headers=call.headers
                    )
                except httpx.TimeoutException:
                    outcomes["hung"] += 1
                    return
                except httpx.TransportError as error:
                    outcomes[f"transport:{type(error).__name__}:{call.path}"] += 1
                    return
            outcomes[f"{response.status_code}:{check(call, response)}"] += 1

        await asyncio.gather(*(one(index) for index in range(total)))
    return outcomes


class PeakMemory:
    """Samples a process's resident memory in a thread; `peak_mb` is the highest seen."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak_mb = self.rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def rss_mb(self) -> float:
        return float(self.process.memory_info().rss) / 2**20

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            self.peak_mb = max(self.peak_mb, self.rss_mb())

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


async def test_the_service_holds_thousands_of_concurrent_requests(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="httpx")  # a line per request would slow the client
    env = {
        "FMT_API_KEYS": digest_of(KEY),
        "FMT_LIMITS__RATE_LIMIT_PER_MINUTE": "0",
        # One address sends the good and the bad keys here; pacing it would refuse them all.
        "FMT_LIMITS__FAILED_AUTH_PER_MINUTE": "0",
        "FMT_LIMITS__MAX_IN_FLIGHT_PER_BACKEND": "12",
        "FMT_LOG_LEVEL": "WARNING",
        "FAKE_MAX_DELAY_S": "0.05",
        "FAKE_FAILURE_RATE": "0.05",
    }
    with running_server(env, tmp_path / "server.log") as server:
        await send_all(server.url, WARM_UP_REQUESTS, CONCURRENCY)
        with PeakMemory(server.process.pid) as memory:
            warm_mb = memory.rss_mb()
            started = time.perf_counter()
            outcomes = await send_all(server.url, REQUESTS, CONCURRENCY)
            elapsed_s = time.perf_counter() - started
            after_mb = memory.rss_mb()

    summary = {
        "requests": REQUESTS,
        "concurrency": CONCURRENCY,
        "seconds": round(elapsed_s, 2),
        "requests_per_s": round(REQUESTS / elapsed_s),
        "outcomes": dict(sorted(outcomes.items())),
        "rss_warm_mb": round(warm_mb, 1),
        "rss_after_mb": round(after_mb, 1),
        "rss_peak_mb": round(memory.peak_mb, 1),
    }
    logger.info("load summary: %s", json.dumps(summary))
    assert outcomes["hung"] == 0
    assert not [outcome for outcome in outcomes if outcome.startswith("transport")], summary
    assert sum(outcomes.values()) == REQUESTS
    assert outcomes["200:ok"] > REQUESTS / 2
    assert after_mb - warm_mb < MAX_RSS_GROWTH_MB, summary


@pytest.mark.parametrize("index", range(len(MIX)))
def test_the_mix_checker_rejects_a_bare_500(index: int) -> None:
    broken = httpx.Response(500, text="Internal Server Error")
    with pytest.raises((AssertionError, KeyError, json.JSONDecodeError)):
        check(MIX[index], broken)
