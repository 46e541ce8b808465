"""docker-compose.yml: valid against the Compose specification, and wired as the docs say."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.infra.test_docker import serving

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(loaded, dict)
    return loaded


def tool(name: str) -> str | None:
    beside_python = Path(sys.executable).parent / name
    return str(beside_python) if beside_python.exists() else shutil.which(name)


def test_compose_file_validates_against_the_compose_spec_schema() -> None:
    checker = tool("check-jsonschema")
    if checker is None:
        pytest.skip("check-jsonschema is not installed")
    result = subprocess.run(
        [checker, "--builtin-schema", "vendor.compose-spec", str(COMPOSE_FILE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_docker_compose_accepts_the_file_where_docker_is_present() -> None:
    docker = shutil.which("docker")
    if (
        docker is None
        or subprocess.run(
            [docker, "compose", "version"], capture_output=True, check=False
        ).returncode
    ):
        pytest.skip("docker compose is not available")
    result = subprocess.run(
        [docker, "compose", "-f", str(COMPOSE_FILE), "--profile", "*", "config", "--quiet"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_eval_job_waits_for_a_ready_api_and_writes_to_a_mounted_folder(
    compose: dict[str, Any],
) -> None:
    evaluation = compose["services"]["eval"]
    assert evaluation["depends_on"] == {"api": {"condition": "service_healthy"}}
    command = evaluation["command"]
    assert command[:4] == ["python", "-m", "eval", "run"]
    assert command[command.index("--url") + 1] == "http://api:8000"
    output = command[command.index("--out") + 1]
    assert any(volume.endswith(f":{output}") for volume in evaluation["volumes"])


def test_the_eval_runs_from_its_own_image_and_the_api_from_the_service_image(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    assert services["api"]["build"]["target"] == "runtime"
    assert services["eval"]["build"]["target"] == "eval"
    assert services["eval"]["image"] != services["api"]["image"]


def test_the_model_copy_imports_a_module_that_exists(compose: dict[str, Any]) -> None:
    script = compose["services"]["models"]["command"][-1]
    (module,) = re.findall(r"from ([\w.]+) import", script)
    assert importlib.util.find_spec(module) is not None


def test_api_health_means_models_loaded(compose: dict[str, Any]) -> None:
    test = compose["services"]["api"]["healthcheck"]["test"]
    assert test[:2] == ["CMD", "python"]
    probe = [sys.executable, *test[2:]]
    script = probe[-1]
    with serving({"/health": 200, "/ready": 200}) as port:
        ready = subprocess.run([*probe[:-1], script.replace(":8000/", f":{port}/")], check=False)
    with serving({"/health": 200, "/ready": 503}) as port:
        loading = subprocess.run(
            [*probe[:-1], script.replace(":8000/", f":{port}/")],
            capture_output=True,
            check=False,
        )
    assert ready.returncode == 0
    assert loading.returncode != 0


def test_api_listens_on_all_interfaces_inside_the_container(compose: dict[str, Any]) -> None:
    api = compose["services"]["api"]
    assert "FMT_HOST=0.0.0.0" in api["environment"]
    assert any(str(port).endswith(":8000") for port in api["ports"])
    assert api["build"]["context"] == "."


def test_openai_server_is_optional_and_serves_the_bundled_model(compose: dict[str, Any]) -> None:
    services = compose["services"]
    server, models = services["openai-server"], services["models"]
    assert server["profiles"] == ["openai-server"] and models["profiles"] == ["openai-server"]
    assert "profiles" not in services["api"]
    model_file = server["command"][server["command"].index("--model") + 1]
    assert model_file in models["command"][-1]
    assert server["depends_on"]["models"]["condition"] == "service_completed_successfully"
    (base_url,) = [v for v in services["api"]["environment"] if v.startswith("FMT_OPENAI__BASE")]
    assert "http://openai-server:8080/v1" in base_url


def test_aws_credentials_pass_through_only_when_set(compose: dict[str, Any]) -> None:
    environment = compose["services"]["api"]["environment"]
    for name in ("AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        assert name in environment  # bare name: an empty value would break request signing


def test_no_service_runs_an_untagged_or_latest_image(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        image = os.path.expandvars(service["image"])
        default = image.split(":-", 1)[-1].rstrip("}") if ":-" in image else image
        assert ":" in default.split("/")[-1], name
        assert not default.endswith(":latest"), name


def published(port: str, environment: dict[str, str]) -> str:
    """A `ports` entry with Compose's `${NAME:-default}` filled in from `environment`."""
    return re.sub(r"\$\{(\w+):-([^}]*)\}", lambda match: environment.get(match[1], match[2]), port)


@pytest.mark.parametrize("service", ["api", "openai-server"])
def test_ports_are_published_on_loopback_unless_told_otherwise(
    compose: dict[str, Any], service: str
) -> None:
    # The service answers without a key by default and /metrics is open: not for the LAN.
    ports = [str(port) for port in compose["services"][service]["ports"]]
    assert all(published(port, {}).startswith("127.0.0.1:") for port in ports)
    chosen = {"FMT_PUBLISH_ADDRESS": "0.0.0.0"}
    assert all(published(port, chosen).startswith("0.0.0.0:") for port in ports)


def test_the_model_copy_step_imports_a_module_that_exists(compose: dict[str, Any]) -> None:
    script = compose["services"]["models"]["command"][-1]
    (module,) = re.findall(r"from ([\w.]+) import", script)
    assert importlib.util.find_spec(module) is not None
