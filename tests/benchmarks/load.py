"""`python -m tests.benchmarks.load`: a keep-alive HTTP/1.1 load generator, run as its own process.

A minimal client on raw asyncio streams: an httpx client tops out below what one uvicorn worker
serves, and would then measure itself instead of the service.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from tests.benchmarks.results import percentile


@dataclass
class LoadTally:
    latencies_s: list[float] = field(default_factory=list)
    failures: int = 0
    statuses: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LoadSummary:
    requests: int
    failures: int
    statuses: dict[str, int]
    wall_s: float
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float


def request_bytes(host: str, port: int, path: str, body: bytes) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n"
    )
    return head.encode() + body


async def read_response(reader: asyncio.StreamReader) -> int:
    """Reads one response with a Content-Length body; returns its status code."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = dict(line.split(":", 1) for line in lines[1:] if ":" in line)
    length = {name.strip().lower(): value.strip() for name, value in headers.items()}
    if "content-length" not in length:
        raise ValueError("response without Content-Length: this client reads only those")
    await reader.readexactly(int(length["content-length"]))
    return status


async def connection(
    host: str, port: int, payload: bytes, tally: LoadTally, deadline: float, requests: int | None
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    sent = 0
    try:
        while time.perf_counter() < deadline and (requests is None or sent < requests):
            started = time.perf_counter()
            writer.write(payload)
            status = await read_response(reader)
            sent += 1
            tally.statuses[status] = tally.statuses.get(status, 0) + 1
            if status == 200:
                tally.latencies_s.append(time.perf_counter() - started)
            else:
                tally.failures += 1
    finally:
        writer.close()


async def generate_load(
    port: int,
    path: str,
    body: bytes,
    concurrency: int,
    duration_s: float,
    per_connection: int | None,
) -> LoadSummary:
    host = "127.0.0.1"
    payload = request_bytes(host, port, path, body)
    tally = LoadTally()
    started = time.perf_counter()
    deadline = started + duration_s
    await asyncio.gather(
        *(
            connection(host, port, payload, tally, deadline, per_connection)
            for _ in range(concurrency)
        )
    )
    wall = time.perf_counter() - started
    latencies = tally.latencies_s or [float("nan")]
    return LoadSummary(
        requests=len(tally.latencies_s),
        failures=tally.failures,
        statuses={str(status): count for status, count in tally.statuses.items()},
        wall_s=wall,
        requests_per_s=len(tally.latencies_s) / wall,
        p50_ms=statistics.median(latencies) * 1000,
        p99_ms=percentile(latencies, 0.99) * 1000,
        max_ms=max(latencies) * 1000,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.load", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", default="/rag")
    parser.add_argument("--body", default='{"question": "What pressure does the press use?"}')
    parser.add_argument("--concurrency", type=int, default=16, help="open connections")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load")
    parser.add_argument("--per-connection", type=int, help="stop each connection after N requests")
    arguments = parser.parse_args(argv)
    loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None
    try:
        import uvloop

        loop_factory = uvloop.new_event_loop
    except ImportError:
        pass
    load = generate_load(
        arguments.port,
        arguments.path,
        arguments.body.encode(),
        arguments.concurrency,
        arguments.duration,
        arguments.per_connection,
    )
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        summary = runner.run(load)
    json.dump(asdict(summary), sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
