"""What the soak watches on the server: RSS, /ready, circuit gauges and counters of /metrics."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

import httpx
import psutil
from prometheus_client.parser import text_string_to_metric_families

CIRCUIT_OPEN = 2.0  # fmt_circuit_state: 0 closed, 1 half-open, 2 open (app/core/observability.py)
PROBE_QUESTION = "What hydraulic pressure does the press run at?"


def metric_samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    """The samples of one metric family in a Prometheus text exposition."""
    return [
        (dict(sample.labels), sample.value)
        for family in text_string_to_metric_families(text)
        if family.name == name
        for sample in family.samples
        if sample.name in (name, f"{name}_total")
    ]


async def wait_until_ready(client: httpx.AsyncClient, timeout_s: float) -> None:
    """Until /ready answers 200: the backends load in the background after /health is up."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if (await client.get("/ready")).status_code == 200:
            return
        await asyncio.sleep(0.5)
    raise TimeoutError(f"/ready was not 200 after {timeout_s:g} s")


async def probe_s(client: httpx.AsyncClient) -> float:
    """Seconds of a 1-token answer from each model: long when a model is still busy."""
    started = time.perf_counter()
    for path in ("/rag", "/finetuned"):
        body = {"question": PROBE_QUESTION, "top_k": 1, "max_tokens": 1}
        (await client.post(path, json=body)).raise_for_status()
    return time.perf_counter() - started


class ServerSampler:
    """Samples the server every `interval_s`: RSS of its process tree, /ready, circuit states."""

    def __init__(self, client: httpx.AsyncClient, pid: int, interval_s: float = 0.5) -> None:
        self.client = client
        self.process = psutil.Process(pid)
        self.interval_s = interval_s
        self.max_rss_bytes = 0
        self.samples = 0
        self.not_ready_samples = 0
        self.failed_samples = 0
        self.opened: Counter[str] = Counter()
        self._last_states: dict[str, float] = {}

    def circuits_opened(self) -> int:
        return sum(self.opened.values())

    def _sample_rss(self) -> None:
        with suppress(psutil.Error):
            processes = [self.process, *self.process.children(recursive=True)]
            rss = sum(process.memory_info().rss for process in processes)
            self.max_rss_bytes = max(self.max_rss_bytes, rss)

    def note_circuits(self, metrics_text: str) -> None:
        """Counts each circuit that is open now and was not at the previous sample."""
        for labels, value in metric_samples(metrics_text, "fmt_circuit_state"):
            backend = labels["backend"]
            if value == CIRCUIT_OPEN and self._last_states.get(backend) != CIRCUIT_OPEN:
                self.opened[backend] += 1
            self._last_states[backend] = value

    async def sample(self) -> str:
        self._sample_rss()
        self.samples += 1
        if (await self.client.get("/ready")).status_code != 200:
            self.not_ready_samples += 1
        metrics_text = (await self.client.get("/metrics")).text
        self.note_circuits(metrics_text)
        return metrics_text

    async def backend_errors(self) -> Counter[str]:
        text = (await self.client.get("/metrics")).text
        return Counter(
            {
                f"{labels['backend']}:{labels['kind']}": int(value)
                for labels, value in metric_samples(text, "fmt_backend_errors")
            }
        )

    async def server_errors(self) -> Counter[str]:
        """Responses with a 5xx status the server counted, by route: those of clients that hung
        up included, which no client sees."""
        text = (await self.client.get("/metrics")).text
        found: Counter[str] = Counter()
        for labels, value in metric_samples(text, "fmt_http_requests"):
            if labels["status"].startswith("5"):
                found[f"{labels['route']} {labels['status']}"] += int(value)
        return found

    async def wait_for_no_requests(self, timeout_s: float) -> float | None:
        """Requests in flight (not counting the /metrics read itself) once they reach 0, or
        the last count seen after `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        in_flight: float | None = None
        while time.monotonic() < deadline:
            text = await self.sample()
            gauge = metric_samples(text, "fmt_http_requests_in_flight")
            in_flight = gauge[0][1] - 1 if gauge else None
            if in_flight == 0:
                return 0.0
            await asyncio.sleep(self.interval_s)
        return in_flight

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        async def loop() -> None:
            while True:
                try:
                    await self.sample()
                except httpx.HTTPError:
                    self.failed_samples += 1
                await asyncio.sleep(self.interval_s)

        task = asyncio.create_task(loop())
        try:
            yield
        finally:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
            await self.sample()
