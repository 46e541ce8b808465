"""A uvicorn subprocess serving the fake app on a free port of 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.uvicorn_process import ServedApp, uvicorn_process

GRACEFUL_SHUTDOWN_S = 10


@contextmanager
def running_server(env: dict[str, str], log: Path) -> Iterator[ServedApp]:
    """Starts the server, waits for /health, and stops it (SIGTERM, then kill) on exit."""
    options = [
        "--timeout-graceful-shutdown", str(GRACEFUL_SHUTDOWN_S),
        # On a starved CPU a pooled connection can sit idle past uvicorn's 5 s default and be
        # closed just as the client reuses it: a client-side race, not what is measured here.
        "--timeout-keep-alive", "60",
    ]  # fmt: skip
    with uvicorn_process(
        "tests.load.fake_app:create_fake_app",
        options,
        environment={"HF_HUB_OFFLINE": "1", **env},
        log=log,
        startup_timeout_s=30,
        stop_timeout_s=GRACEFUL_SHUTDOWN_S + 5,
    ) as server:
        yield server
