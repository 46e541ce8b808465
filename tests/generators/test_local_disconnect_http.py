"""Over HTTP against a real uvicorn and the real model: a client that leaves stops its generation.

Before, a disconnected client left the model generating up to `max_tokens` (minutes on a busy
CPU), and the next request waited behind it. The probe's access-log line says how long it
waited for the model's thread. The tests wait for the server to end the abandoned request (its
in-flight gauge), not for a fixed time.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.uvicorn_process import ServedApp, uvicorn_process

pytestmark = pytest.mark.slow

# SmolLM2 counts on until max_tokens for this one (600 of 600 tokens, measured).
ENDLESS = {"question": "Count from 1 to 1000, separated by commas.", "max_tokens": 1000}
PROBE = {"question": "Say hello.", "max_tokens": 4}
# Longest wait for something that happens within a token; it only guards against a hang.
HANG_S = 120.0


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, shared_index_dir: Path) -> Iterator[ServedApp]:
    log = tmp_path_factory.mktemp("served") / "server.log"
    environment = {
        "HF_HUB_OFFLINE": "1",
        # The untuned model, whatever var/adapters holds: it counts on until max_tokens (a tuned
        # one answers "Count from 1 to 1000 by commas." and ends at once).
        "FMT_LOCAL__ADAPTERS_DIR": str(tmp_path_factory.mktemp("no-adapters")),
        "FMT_RETRIEVAL__INDEX_DIR": str(shared_index_dir),
        "FMT_LOCAL__REQUIRE_ADAPTER": "false",
        # Without a repeat penalty: with one, the model stops counting after a few numbers.
        "FMT_LOCAL__REPEAT_PENALTY": "1.0",
        "FMT_GENERATION__TIMEOUT_S": "600",
        "FMT_LOG_LEVEL": "INFO",
        "FMT_LOG_FORMAT": "json",
    }
    with uvicorn_process("app.main:create_app", environment=environment, log=log) as server:
        deadline = time.monotonic() + 180
        while httpx.get(f"{server.url}/ready", timeout=5).status_code != 200:
            assert time.monotonic() < deadline, server.log_tail()
            time.sleep(0.5)
        yield server


def _until(condition: Callable[[], bool], what: str) -> None:
    """Polls `condition` until it holds; the deadline only guards against a hang."""
    deadline = time.monotonic() + HANG_S
    while not condition():
        assert time.monotonic() < deadline, f"{what} never happened"
        time.sleep(0.05)


def _access_line(log: Path, request_id: str) -> dict[str, Any] | None:
    for line in log.read_text(errors="replace").splitlines():
        if request_id in line and line.startswith("{"):
            record: dict[str, Any] = json.loads(line)
            if record.get("logger") == "app.access":
                return record
    return None


def _in_flight(served: ServedApp) -> float:
    metrics = httpx.get(f"{served.url}/metrics", timeout=30).text
    for family in text_string_to_metric_families(metrics):
        for sample in family.samples:
            if sample.name == "fmt_http_requests_in_flight":
                return float(sample.value)
    raise AssertionError("no in-flight gauge")


def _until_only_the_scrape_is_in_flight(served: ServedApp) -> None:
    """Until the server has ended the abandoned request (the scrape itself is the one left)."""
    _until(lambda: _in_flight(served) == 1, "the end of the abandoned request")


def _probe(served: ServedApp, request_id: str) -> float:
    """A four-token answer's wait for the model's thread, from its access line (ms)."""
    response = httpx.post(
        f"{served.url}/finetuned", json=PROBE, headers={"X-Request-ID": request_id}, timeout=120
    )
    assert response.status_code == 200, response.text
    log = served.log
    assert log is not None
    # The access line is written as the response ends.
    _until(lambda: _access_line(log, request_id) is not None, f"the access line of {request_id}")
    record = _access_line(log, request_id)
    assert record is not None
    waits = [ms for name, ms in record["stages_ms"].items() if "queue_wait" in name]
    assert waits, record
    return float(max(waits))


def test_a_client_leaving_mid_stream_frees_the_model(served: ServedApp) -> None:
    with (
        httpx.Client(timeout=120) as client,
        client.stream("POST", f"{served.url}/finetuned", json={**ENDLESS, "stream": True}) as s,
    ):
        deltas = 0
        for line in s.iter_lines():
            deltas += line.startswith("event: delta")
            if deltas >= 3:
                break  # leaving the block closes the connection mid-stream
    _until_only_the_scrape_is_in_flight(served)
    assert _probe(served, "probe-after-stream") < 1000


def test_a_client_leaving_mid_json_frees_the_model(served: ServedApp) -> None:
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{served.url}/finetuned", json=ENDLESS, timeout=httpx.Timeout(120, read=3))
    _until_only_the_scrape_is_in_flight(served)
    assert _probe(served, "probe-after-json") < 1000
