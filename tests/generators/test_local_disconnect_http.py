"""Over HTTP against a real uvicorn and the real model: a client that leaves stops its generation.

Before, a disconnected client left the model generating up to `max_tokens` (minutes on a busy
CPU), and the next request waited behind it. The probe's access-log line says how long it
waited for the model's thread.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.uvicorn_process import ServedApp, uvicorn_process

pytestmark = pytest.mark.slow

# SmolLM2 counts on until max_tokens for this one (600 of 600 tokens, measured).
ENDLESS = {"question": "Count from 1 to 1000, separated by commas.", "max_tokens": 1000}
PROBE = {"question": "Say hello.", "max_tokens": 4}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApp]:
    log = tmp_path_factory.mktemp("served") / "server.log"
    environment = {
        "HF_HUB_OFFLINE": "1",
        # The untuned model, whatever var/adapters holds: it counts on until max_tokens (a tuned
        # one answers "Count from 1 to 1000 by commas." and ends at once).
        "FMT_LOCAL__ADAPTERS_DIR": str(tmp_path_factory.mktemp("no-adapters")),
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


def _queue_wait_ms(log: Path, request_id: str) -> float:
    for line in log.read_text(errors="replace").splitlines():
        if request_id in line and line.startswith("{"):
            record = json.loads(line)
            if record.get("logger") == "app.access":
                waits = [ms for name, ms in record["stages_ms"].items() if "queue_wait" in name]
                assert waits, record
                return float(max(waits))
    raise AssertionError(f"no access line for {request_id}")


def _probe(served: ServedApp, request_id: str) -> float:
    started = time.monotonic()
    response = httpx.post(
        f"{served.url}/finetuned", json=PROBE, headers={"X-Request-ID": request_id}, timeout=120
    )
    assert response.status_code == 200, response.text
    # Four tokens; behind the abandoned generation it would take minutes.
    assert time.monotonic() - started < 15
    time.sleep(0.2)  # the access line is written as the response ends
    assert served.log is not None
    return _queue_wait_ms(served.log, request_id)


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
    time.sleep(1.0)
    assert _probe(served, "probe-after-stream") < 1000


def test_a_client_leaving_mid_json_frees_the_model(served: ServedApp) -> None:
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{served.url}/finetuned", json=ENDLESS, timeout=httpx.Timeout(120, read=3))
    time.sleep(1.0)
    assert _probe(served, "probe-after-json") < 1000
