"""llama-cpp-python's own OpenAI-compatible server, serving the shipped SmolLM2 GGUF, in its own
process on a free port of 127.0.0.1: a real third-party server for the `openai` backends."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from app.core.bundled_models import smollm2_gguf_path
from tests.uvicorn_process import free_port


@contextmanager
def llama_server(
    log: Path, context_tokens: int = 2048, startup_timeout_s: float = 120
) -> Iterator[str]:
    """Yields the server's OpenAI base URL (`http://127.0.0.1:PORT/v1`) until the block ends."""
    port = free_port()
    command = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(smollm2_gguf_path()),
        "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(context_tokens),
        "--n_threads", "1", "--verbose", "false",
    ]  # fmt: skip
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
        base_url = f"http://127.0.0.1:{port}/v1"
        try:
            _wait_until_serving(process, base_url, log, startup_timeout_s)
            yield base_url
        finally:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_serving(
    process: subprocess.Popen[bytes], base_url: str, log: Path, timeout_s: float
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"llama_cpp.server exited with {process.returncode}:\n{tail}")
        try:
            if httpx.get(f"{base_url}/models", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"llama_cpp.server was not serving after {timeout_s} s")
