"""A uvicorn server in its own process on a free port of 127.0.0.1 (load tests, benchmarks)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from app.settings import PROJECT_ROOT


@dataclass(frozen=True)
class ServedApp:
    process: subprocess.Popen[bytes]
    port: int
    log: Path | None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log else "(no log kept)"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_until_healthy(served: ServedApp, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if served.process.poll() is not None:
            raise RuntimeError(
                f"the server exited with {served.process.returncode}:\n{served.log_tail()}"
            )
        try:
            if httpx.get(f"{served.url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"the server on port {served.port} was not healthy after {timeout_s} s")


@contextmanager
def uvicorn_process(
    factory: str,
    options: Sequence[str] = (),
    environment: Mapping[str, str] | None = None,
    log: Path | None = None,
    startup_timeout_s: float = 60,
    stop_timeout_s: float = 15,
    as_main: bool = False,
) -> Iterator[ServedApp]:
    """Serves `module:factory` (a FastAPI factory) until the block ends, then SIGTERM, then kill.
    With `as_main`, uvicorn runs with the options of `python -m app` (`options` are ignored)."""
    port = free_port()
    command = [
        sys.executable, "-m", "uvicorn", factory, "--factory",
        "--host", "127.0.0.1", "--port", str(port),
        "--no-access-log", "--log-level", "warning", *options,
    ]  # fmt: skip
    if as_main:
        command = [sys.executable, "-m", "tests.serve_like_main", factory, str(port)]
    with ExitStack() as stack:
        output = stack.enter_context(log.open("wb")) if log else None
        process = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env={**os.environ, **(environment or {})},
            stdout=output,
            stderr=output,
        )
        served = ServedApp(process, port, log)
        try:
            _wait_until_healthy(served, startup_timeout_s)
            yield served
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(stop_timeout_s)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
