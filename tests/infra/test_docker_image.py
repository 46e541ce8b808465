"""The image built and run by a real container engine, host networking only (opt-in: slow).

`FMT_TEST_IMAGE=1 pytest tests/infra/test_docker_image.py` builds the Dockerfile with docker or
podman (compiling llama.cpp takes minutes), runs it with `--network host` bound to 127.0.0.1,
and checks /health, /ready and one /rag answer of the embedded default. Every request goes to
127.0.0.1, never to a container bridge's address. Skips, saying why, where no engine runs or the
base images cannot be had.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.infra.test_docker import parse_stages

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "fm-tailor:test"
BUILD_TIMEOUT_S = 3600
READY_TIMEOUT_S = 300

pytestmark = pytest.mark.slow


def container_engine() -> str | None:
    """docker or podman, if one answers `info`."""
    for name in ("docker", "podman"):
        binary = shutil.which(name)
        if binary is None:
            continue
        info = subprocess.run([binary, "info"], capture_output=True, timeout=60, check=False)
        if info.returncode == 0:
            return binary
    return None


def base_images() -> list[str]:
    stages = parse_stages((ROOT / "Dockerfile").read_text())
    names = {stage.name for stage in stages}
    return sorted({stage.image for stage in stages if stage.image not in names})


def ensure_image(engine: str, image: str) -> str | None:
    """None when the image is here or was pulled; otherwise what the engine said."""
    present = subprocess.run(
        [engine, "image", "inspect", image], capture_output=True, timeout=60, check=False
    )
    if present.returncode == 0:
        return None
    pulled = subprocess.run(
        [engine, "pull", image], capture_output=True, text=True, timeout=600, check=False
    )
    if pulled.returncode == 0:
        return None
    return (pulled.stderr.strip().splitlines() or ["no message"])[-1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def fetch(url: str, body: dict[str, object] | None = None) -> tuple[int, bytes]:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if body is not None else {}
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.fixture(scope="module")
def engine() -> str:
    if os.environ.get("FMT_TEST_IMAGE") != "1":
        pytest.skip("building the image compiles llama.cpp (minutes): set FMT_TEST_IMAGE=1")
    found = container_engine()
    if found is None:
        pytest.skip("no container engine answers `docker info` or `podman info`")
    for image in base_images():
        failure = ensure_image(found, image)
        if failure is not None:
            pytest.skip(f"{Path(found).name} cannot get base image {image}: {failure}")
    return found


@pytest.fixture(scope="module")
def served(engine: str) -> Iterator[str]:
    """The built image running on the host's network, listening on 127.0.0.1 only."""
    build = [engine, "build", "--network", "host", "--build-arg", "TRAIN_ADAPTER=false"]
    subprocess.run(
        [*build, "-t", IMAGE, str(ROOT)],
        check=True,
        timeout=BUILD_TIMEOUT_S,
    )
    port = free_port()
    name = f"fm-tailor-test-{uuid.uuid4().hex[:8]}"
    run = [engine, "run", "-d", "--rm", "--network", "host", "--name", name]
    environment = ["-e", "FMT_HOST=127.0.0.1", "-e", f"FMT_PORT={port}"]
    # No adapter was trained at build time: the tuned model is the base, labelled so.
    untuned = ["-e", "FMT_LOCAL__REQUIRE_ADAPTER=false"]
    subprocess.run(
        [*run, *environment, *untuned, IMAGE],
        check=True,
        timeout=120,
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        subprocess.run([engine, "rm", "-f", name], capture_output=True, check=False, timeout=120)


def wait_until_ready(base_url: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            if fetch(f"{base_url}/ready")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(2)
    raise AssertionError(f"{base_url}/ready did not answer 200 within {READY_TIMEOUT_S} s")


def test_the_image_serves_health_ready_and_a_rag_answer(served: str) -> None:
    wait_until_ready(served)
    assert fetch(f"{served}/health")[0] == 200
    status, body = fetch(f"{served}/rag", {"question": "What is the KX-420's maximum pressure?"})
    assert status == 200, body
    answer = json.loads(body)
    assert answer["strategy"] == "rag" and answer["answer"].strip()
    assert answer["sources"]
