"""A uvicorn subprocess serving the fake app on a free port of 127.0.0.1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

PROJECT_ROOT = Path(__file__).resolve().parents[2]
GRACEFUL_SHUTDOWN_S = 10


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    log: Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_until_healthy(server: Server, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{server.log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{server.url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"server not healthy after {timeout_s} s")


@contextmanager
def running_server(env: dict[str, str], log: Path) -> Iterator[Server]:
    """Starts the server, waits for /health, and stops it (SIGTERM, then kill) on exit."""
    port = free_port()
    command = [
        sys.executable, "-m", "uvicorn", "tests.load.fake_app:create_fake_app", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--no-access-log", "--log-level", "warning",
        "--timeout-graceful-shutdown", str(GRACEFUL_SHUTDOWN_S),
        # On a starved CPU a pooled connection can sit idle past uvicorn's 5 s default and be
        # closed just as the client reuses it: a client-side race, not what is measured here.
        "--timeout-keep-alive", "60",
    ]  # fmt: skip
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", **env}
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=environment, stdout=log_file, stderr=log_file
        )
    server = Server(process, f"http://127.0.0.1:{port}", log)
    try:
        _wait_until_healthy(server, timeout_s=30)
        yield server
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(GRACEFUL_SHUTDOWN_S + 5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
