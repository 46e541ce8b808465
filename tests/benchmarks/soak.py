"""`python -m tests.benchmarks.soak`: thousands of mixed requests against the real embedded default.

Starts the service (`app.main:create_app`, local retriever + SmolLM2 via llama.cpp + the LoRA
adapter) under uvicorn on 127.0.0.1, sends a shuffled mix of valid but heavy, malformed and
disconnecting requests from a few concurrent clients until the count or the time runs out, and
samples the server meanwhile (RSS, /ready, the circuit gauges of /metrics). Prints a table and
writes JSON. The service's rate limit is off for the run: every request comes from one address.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from app.settings import PROJECT_ROOT, Settings
from tests.benchmarks.results import Measurement, machine, table, write_results
from tests.benchmarks.soak_mix import Kind, MixShape, Outcome, SoakRequest, SoakTally, build_mix
from tests.benchmarks.soak_server import ServerSampler, probe_s, wait_until_ready
from tests.uvicorn_process import uvicorn_process

NAME = "soak"
DEFAULT_OUT = PROJECT_ROOT / "var" / "bench" / "soak.json"
SERVER_LOG = PROJECT_ROOT / "var" / "bench" / "soak-server.log"
TEST_QUESTIONS = PROJECT_ROOT / "data" / "test" / "test.json"
SOAK_ENVIRONMENT = {
    "FMT_LIMITS__RATE_LIMIT_PER_MINUTE": "0",
    "FMT_LOG_LEVEL": "WARNING",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
}


@dataclass(frozen=True, slots=True)
class SoakPlan:
    requests: int
    duration_s: float
    lanes: dict[Kind, int]
    shape: MixShape
    seed: int = 13
    request_timeout_s: float = 180.0


@dataclass(slots=True)
class SoakReport:
    plan: SoakPlan
    tally: SoakTally
    wall_s: float
    sampler: ServerSampler
    probe_before_s: float
    probe_after_s: float
    in_flight_after: float | None
    backend_errors: Counter[str] = field(default_factory=Counter)
    server_errors: Counter[str] = field(default_factory=Counter)
    errors_logged: int = 0


async def send_http(client: httpx.AsyncClient, request: SoakRequest) -> Outcome:
    """Sends one request and reads the whole answer (to its last SSE event when streaming)."""
    headers = {"Content-Type": request.content_type}
    started = time.perf_counter()
    try:
        async with client.stream("POST", request.path, content=request.body, headers=headers) as r:
            last_event: str | None = None
            failures: list[str] = []
            if request.stream and r.status_code == 200:
                async for line in r.aiter_lines():
                    if line.startswith("event:"):
                        last_event = line.removeprefix("event:").strip()
                    elif line.startswith("data:") and last_event == "error":
                        failures.append(f"stream error {_error_code(line[5:])}")
            else:
                body = await r.aread()
                failures += _compare_errors(request, r.status_code, body)
    except httpx.HTTPError as error:
        return Outcome(request, None, time.perf_counter() - started, failures=(repr(error),))
    return Outcome(
        request,
        r.status_code,
        time.perf_counter() - started,
        retry_after="retry-after" in r.headers,
        stream_end=last_event if last_event in ("done", "error") else None,
        failures=tuple(failures),
    )


def _error_code(data: str) -> str:
    try:
        return str(json.loads(data)["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return "unreadable"


def _compare_errors(request: SoakRequest, status: int, body: bytes) -> list[str]:
    """A /compare answered 200 may still hold failed strategies: each is a failure."""
    if request.path != "/compare" or status != 200:
        return []
    errors = json.loads(body).get("errors", {})
    return [f"compare {name}: {detail['code']}" for name, detail in errors.items()]


async def send_and_hang_up(port: int, request: SoakRequest) -> Outcome:
    """Sends a request on a raw connection and closes it after the request's delay."""
    assert request.disconnect_after_s is not None
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    accept = "text/event-stream" if request.stream else "application/json"
    head = (
        f"POST {request.path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: {request.content_type}\r\nAccept: {accept}\r\n"
        f"Content-Length: {len(request.body)}\r\n\r\n"
    )
    writer.write(head.encode() + request.body)
    await writer.drain()
    with suppress(TimeoutError):
        await asyncio.wait_for(reader.read(), request.disconnect_after_s)
    writer.close()
    return Outcome(request, None, time.perf_counter() - started)


async def drive(port: int, plan: SoakPlan, requests: list[SoakRequest]) -> tuple[SoakTally, float]:
    """Each kind has its own clients (`plan.lanes`), taking that kind's requests in order until
    none is left or time is up: slow valid answers do not hold back the fast malformed ones."""
    tally = SoakTally()
    started = time.perf_counter()
    deadline = started + plan.duration_s
    timeout = httpx.Timeout(plan.request_timeout_s, connect=10.0)
    limits = httpx.Limits(max_connections=sum(plan.lanes.values()))
    base_url = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base_url, timeout=timeout, limits=limits) as client:

        async def client_loop(pending: Iterator[SoakRequest]) -> None:
            for request in pending:
                if time.perf_counter() >= deadline:
                    return
                if request.kind == "disconnect":
                    tally.add(await send_and_hang_up(port, request))
                else:
                    tally.add(await send_http(client, request))

        loops = []
        for kind, clients in plan.lanes.items():
            pending = iter([request for request in requests if request.kind == kind])
            loops += [client_loop(pending) for _ in range(clients)]
        await asyncio.gather(*loops)
    return tally, time.perf_counter() - started


async def soak(port: int, pid: int, plan: SoakPlan) -> SoakReport:
    questions = [item["question"] for item in json.loads(TEST_QUESTIONS.read_text("utf-8"))]
    requests = build_mix(plan.requests, questions, plan.shape, plan.seed)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
        await wait_until_ready(client, timeout_s=600)
        await probe_s(client)  # warm-up: the first answer of each model loads its caches
        probe_before = await probe_s(client)
        sampler = ServerSampler(client, pid)
        errors_before = await sampler.backend_errors()
        server_errors_before = await sampler.server_errors()
        async with sampler.running():
            tally, wall_s = await drive(port, plan, requests)
            in_flight_after = await sampler.wait_for_no_requests(timeout_s=30)
        probe_after = await probe_s(client)
        errors_after = await sampler.backend_errors()
        server_errors = await sampler.server_errors() - server_errors_before
    return SoakReport(
        plan,
        tally,
        wall_s,
        sampler,
        probe_before,
        probe_after,
        in_flight_after,
        errors_after - errors_before,
        server_errors,
    )


def measurements(report: SoakReport) -> list[Measurement]:
    tally, sampler = report.tally, report.sampler
    rows = [
        Measurement(NAME, f"{kind}: {dict(sorted(statuses.items()))}", sum(statuses.values()), "")
        for kind, statuses in tally.statuses().items()
    ]
    failures = tally.valid_failures()
    shed = failures.pop("503 shed (Retry-After)", 0)
    refused = tally.malformed_server_errors()
    opened = sampler.circuits_opened()
    probe_target = 2 * report.probe_before_s + 0.5
    rows += [
        Measurement(NAME, "wall time", report.wall_s, "s"),
        Measurement(NAME, f"circuits opened {dict(sampler.opened)}", opened, "", "0", opened == 0),
        Measurement(
            NAME, "/ready not 200 (samples)", sampler.not_ready_samples, "", "0",
            sampler.not_ready_samples == 0,
        ),
        Measurement(
            NAME, f"valid failed {dict(failures)}", sum(failures.values()), "", "0", not failures
        ),
        Measurement(NAME, "valid shed (503 + Retry-After)", shed, ""),
        Measurement(
            NAME, f"malformed not 4xx {dict(refused)}", sum(refused.values()), "", "0", not refused
        ),
        Measurement(NAME, "valid answered p50", tally.valid_percentile_ms(0.5), "ms", note="none"),
        Measurement(NAME, "valid answered p95", tally.valid_percentile_ms(0.95), "ms", note="none"),
        Measurement(NAME, "server max RSS", sampler.max_rss_bytes / 2**20, "MiB"),
        Measurement(
            NAME, "in flight after the soak", report.in_flight_after, "", "0",
            report.in_flight_after == 0, note="unread",
        ),
        Measurement(
            NAME, "1-token probe after (model idle)", report.probe_after_s * 1000, "ms",
            f"<= 2 x {report.probe_before_s * 1000:.0f} ms + 500 ms",
            report.probe_after_s <= probe_target,
        ),
        Measurement(
            NAME, f"backend errors {dict(report.backend_errors)}",
            sum(report.backend_errors.values()), "",
        ),
        Measurement(
            NAME, f"5xx counted by the server {dict(report.server_errors)}",
            sum(report.server_errors.values()), "", "0", not report.server_errors,
        ),
        Measurement(NAME, "ERROR lines in the server log", report.errors_logged, ""),
    ]  # fmt: skip
    return rows


def plan_for(quick: bool) -> SoakPlan:
    weights: dict[Kind, float] = {"valid": 0.1, "malformed": 0.8, "disconnect": 0.1}
    max_body = Settings(_env_file=None).limits.max_body_bytes
    shape = MixShape(weights=weights, max_body_bytes=max_body)
    lanes: dict[Kind, int] = {"valid": 4, "malformed": 3, "disconnect": 2}
    if quick:
        return SoakPlan(requests=400, duration_s=60, lanes=lanes, shape=shape)
    return SoakPlan(requests=3000, duration_s=200, lanes=lanes, shape=shape)


def run_plan(plan: SoakPlan) -> SoakReport:
    SERVER_LOG.parent.mkdir(parents=True, exist_ok=True)
    with uvicorn_process(
        "app.main:create_app", environment=SOAK_ENVIRONMENT, log=SERVER_LOG, stop_timeout_s=30
    ) as served:
        report = asyncio.run(soak(served.port, served.process.pid, plan))
    report.errors_logged = SERVER_LOG.read_text(errors="replace").count('"level": "ERROR"')
    return report


def run(quick: bool) -> list[Measurement]:
    """Entry point of `python -m tests.benchmarks soak`."""
    return measurements(run_plan(plan_for(quick)))


def _parser() -> argparse.ArgumentParser:
    default = plan_for(quick=False)
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.soak", description=__doc__)
    parser.add_argument("--requests", type=int, default=default.requests)
    parser.add_argument("--duration", type=float, default=default.duration_s, help="seconds")
    for kind, clients in default.lanes.items():
        parser.add_argument(f"--{kind}-clients", type=int, default=clients)
    parser.add_argument("--valid", type=float, default=default.shape.weights["valid"])
    parser.add_argument("--malformed", type=float, default=default.shape.weights["malformed"])
    parser.add_argument("--disconnect", type=float, default=default.shape.weights["disconnect"])
    parser.add_argument("--max-tokens", type=int, nargs=2, default=default.shape.max_tokens)
    parser.add_argument("--seed", type=int, default=default.seed)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON file to write")
    return parser


def main(argv: list[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    for variable, value in SOAK_ENVIRONMENT.items():
        os.environ.setdefault(variable, value)
    default = plan_for(quick=False)
    weights: dict[Kind, float] = {
        "valid": arguments.valid,
        "malformed": arguments.malformed,
        "disconnect": arguments.disconnect,
    }
    shape = MixShape(
        weights=weights,
        max_tokens=(arguments.max_tokens[0], arguments.max_tokens[1]),
        max_body_bytes=default.shape.max_body_bytes,
    )
    lanes: dict[Kind, int] = {
        "valid": arguments.valid_clients,
        "malformed": arguments.malformed_clients,
        "disconnect": arguments.disconnect_clients,
    }
    plan = SoakPlan(arguments.requests, arguments.duration, lanes, shape, arguments.seed)
    context = machine()
    print(f"soaking: up to {plan.requests} requests or {plan.duration_s:g} s…", file=sys.stderr)
    rows = measurements(run_plan(plan))
    write_results(arguments.out, rows, quick=False, context=context)
    print(table(rows))
    print(f"\n{context['cpus']} CPUs, load average at start {context['load_average_at_start']}")
    print(f"written to {arguments.out}; server log in {SERVER_LOG}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
