"""Measure one replica: a bounded, mixed load of the three strategies against a running service.

Closed-loop clients (each sends its next question when its answer arrives), at 1, 2, 4, ...
clients in turn, each level a fixed number of requests spread over /rag, /finetuned and /hybrid
in turn. A level's throughput is its answers over its wall time; the replica sustains the best
throughput of a level whose p95 latency is within the fleet's target and whose answers all
succeeded. Levels stop at the first that misses the target, at the most clients allowed, or
when more clients no longer add throughput. Loopback only: this is a bench, not a load tester.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import math
import os
import platform
import socket
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

STRATEGIES = ("rag", "finetuned", "hybrid")
# More clients must add at least this share of throughput to be worth another level.
MIN_GAIN = 0.05


class MeasureError(ValueError):
    """The load cannot be run as asked (not loopback, the service not ready)."""


@dataclass(frozen=True)
class Level:
    clients: int
    requests: int
    failures: int
    wall_s: float
    requests_per_s: float
    p50_s: float
    p95_s: float


@dataclass(frozen=True)
class Measurement:
    sustained_requests_per_s: float
    clients: int
    p95_s: float
    target_p95_s: float
    levels: list[Level]


def require_loopback(url: str) -> None:
    host = urlsplit(url).hostname or ""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except socket.gaierror as error:
        raise MeasureError(f"cannot resolve {host}: {error}") from error
    if not addresses or not all(ipaddress.ip_address(a).is_loopback for a in addresses):
        raise MeasureError(f"{url} is not a loopback address: measure a service on this machine")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


async def _run_level(
    client: httpx.AsyncClient, questions: list[str], clients: int, requests: int, max_tokens: int
) -> Level:
    latencies: list[float] = []
    failures = 0
    sent = 0

    async def one_client() -> None:
        nonlocal failures, sent
        while sent < requests:
            number, sent = sent, sent + 1
            strategy = STRATEGIES[number % len(STRATEGIES)]
            question = questions[number % len(questions)]
            started = time.perf_counter()
            try:
                response = await client.post(
                    f"/{strategy}", json={"question": question, "max_tokens": max_tokens}
                )
                ok = response.status_code == 200
            except httpx.HTTPError:
                ok = False
            latencies.append(time.perf_counter() - started)
            failures += not ok

    started = time.perf_counter()
    await asyncio.gather(*(one_client() for _ in range(clients)))
    wall = time.perf_counter() - started
    return Level(
        clients=clients,
        requests=len(latencies),
        failures=failures,
        wall_s=round(wall, 3),
        requests_per_s=round(len(latencies) / wall, 3),
        p50_s=round(percentile(latencies, 0.5), 3),
        p95_s=round(percentile(latencies, 0.95), 3),
    )


async def measure(
    url: str,
    questions: list[str],
    target_p95_s: float,
    max_clients: int = 64,
    requests_per_level: int = 48,
    max_tokens: int = 128,
    api_key: str | None = None,
    timeout_s: float = 300.0,
) -> Measurement:
    """Levels of 1, 2, 4, ... clients until one misses the target; the best one that did not."""
    require_loopback(url)
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    limits = httpx.Limits(max_connections=max_clients, max_keepalive_connections=max_clients)
    async with httpx.AsyncClient(
        base_url=url, headers=headers, timeout=timeout_s, limits=limits
    ) as client:
        ready = await client.get("/ready")
        if ready.status_code != 200:
            raise MeasureError(f"{url}/ready answered {ready.status_code}: {ready.text[:200]}")
        levels: list[Level] = []
        clients = 1
        while clients <= max_clients:
            level = await _run_level(
                client, questions, clients, max(requests_per_level, clients), max_tokens
            )
            levels.append(level)
            if level.failures or level.p95_s > target_p95_s:
                break
            good = [lv for lv in levels[:-1] if not lv.failures and lv.p95_s <= target_p95_s]
            if good and level.requests_per_s < max(lv.requests_per_s for lv in good) * (
                1 + MIN_GAIN
            ):
                break
            clients *= 2
    passing = [lv for lv in levels if not lv.failures and lv.p95_s <= target_p95_s]
    if not passing:
        return Measurement(0.0, 0, levels[0].p95_s, target_p95_s, levels)
    best = max(passing, key=lambda lv: lv.requests_per_s)
    return Measurement(best.requests_per_s, best.clients, best.p95_s, target_p95_s, levels)


def machine() -> str:
    """What ran the service and the load: host, CPUs, processor."""
    return (
        f"{platform.node()} ({os.cpu_count()} CPUs, {platform.machine()}, "
        f"{platform.processor() or platform.system()})"
    )


def record_measurement(fleet: Path, replica: str, url: str, result: Measurement) -> dict[str, Any]:
    """Write the replica's measured figures into the fleet file; returns what was written."""
    data = json.loads(fleet.read_text(encoding="utf-8"))
    entry = next((r for r in data["replicas"] if r["name"] == replica), None)
    if entry is None:
        raise MeasureError(f"{fleet} has no replica named {replica}")
    measured = {
        "sustained_requests_per_s": result.sustained_requests_per_s,
        "clients": result.clients,
        "p95_s": result.p95_s,
        "target_p95_s": result.target_p95_s,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "url": url,
        "mix": "/rag, /finetuned, /hybrid in turn",
        "levels": [asdict(level) for level in result.levels],
    }
    entry["measured"] = measured
    fleet.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return measured
