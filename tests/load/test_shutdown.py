"""Graceful shutdown: a request in flight when the server is told to stop still gets its answer."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import httpx

from tests.load.server import running_server


async def test_in_flight_requests_complete_after_sigterm(tmp_path: Path) -> None:
    env = {"FAKE_MIN_DELAY_S": "1.5", "FAKE_MAX_DELAY_S": "1.5", "FAKE_FAILURE_RATE": "0"}
    with running_server(env, tmp_path / "server.log") as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=15) as client:
            answers = [
                asyncio.create_task(client.post("/finetuned", json={"question": "KX-420?"})),
                asyncio.create_task(
                    client.post("/finetuned", json={"question": "KX-420?", "stream": True})
                ),
            ]
            await asyncio.sleep(0.6)  # both are now waiting on the slow backend
            server.process.send_signal(signal.SIGTERM)
            await asyncio.sleep(0.3)
            with_stop_asked = await asyncio.gather(*answers)
            try:
                late = await client.get("/health")
                late_status = late.status_code
            except httpx.TransportError:
                late_status = None
        # It stops by itself once drained; uvicorn re-raises the signal, so the status says SIGTERM.
        exit_code = await asyncio.to_thread(server.process.wait, 10)
        log = server.log.read_text()

    plain, streamed = with_stop_asked
    assert plain.status_code == 200
    assert plain.json()["answer"] == "The KX-420 runs at 210 bar."
    assert streamed.status_code == 200
    assert "event: done" in streamed.text
    assert late_status is None  # no new work is taken once stopping
    assert exit_code in (0, -signal.SIGTERM)
    assert "timeout graceful shutdown exceeded" not in log
