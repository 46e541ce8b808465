"""Starts a benchmark app under uvicorn (one worker, 127.0.0.1) in its own process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from app.settings import PROJECT_ROOT
from tests.benchmarks.load import LoadSummary


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until_up(port: int, process: subprocess.Popen[bytes], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the benchmark server exited with {process.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the benchmark server on port {port} did not answer in {timeout_s} s")


@contextmanager
def serving(factory: str, environment: dict[str, str] | None = None) -> Iterator[int]:
    """Serves `tests.benchmarks.apps:<factory>`; yields its port, stops it afterwards."""
    port = free_port()
    command = [
        sys.executable, "-m", "uvicorn", f"tests.benchmarks.apps:{factory}", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        "--log-level", "warning", "--no-access-log", "--backlog", "4096",
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=PROJECT_ROOT, env={**os.environ, **(environment or {})})
    try:
        wait_until_up(port, process)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run_load(port: int, *arguments: str) -> LoadSummary:
    """Runs the load generator in its own process against `port`; returns its summary."""
    import json

    completed = subprocess.run(
        [sys.executable, "-m", "tests.benchmarks.load", "--port", str(port), *arguments],
        cwd=PROJECT_ROOT, check=True, capture_output=True, text=True,
    )  # fmt: skip
    return LoadSummary(**json.loads(completed.stdout))
