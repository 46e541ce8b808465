"""Settings of the service stack: what the environment sets, and the mistakes named early."""

from __future__ import annotations

import os
from typing import Any

import pytest
from pydantic import ValidationError

from infra.cdk.settings import InfraSettings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("FMT_INFRA_"):
            monkeypatch.delenv(name)


def settings(**service: Any) -> InfraSettings:
    return InfraSettings(_env_file=None, service=service)


def test_nested_environment_variables_reach_the_service_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FMT_INFRA_SERVICE__SCALING__MAX_TASKS", "40")
    monkeypatch.setenv("FMT_INFRA_SERVICE__WAF__REQUESTS_PER_CLIENT", "3000")
    monkeypatch.setenv("FMT_INFRA_SERVICE__TUNED_GENERATOR", "sagemaker")
    monkeypatch.setenv("FMT_INFRA_SERVICE__ENDPOINT__NAME", "my-endpoint")
    loaded = InfraSettings(_env_file=None)
    assert loaded.service.scaling.max_tasks == 40
    assert loaded.service.waf.requests_per_client == 3000
    assert loaded.service.endpoint.name == "my-endpoint"


def test_a_sagemaker_generator_needs_the_endpoint_name() -> None:
    with pytest.raises(ValidationError, match="FMT_INFRA_SERVICE__ENDPOINT__NAME"):
        settings(tuned_generator="sagemaker")


def test_zero_endpoint_instances_need_an_inference_component() -> None:
    with pytest.raises(ValidationError, match="INFERENCE_COMPONENT"):
        settings(endpoint={"name": "e", "min_capacity": 0})
    zero = settings(endpoint={"name": "e", "inference_component": "c", "min_capacity": 0})
    assert zero.service.endpoint.min_capacity == 0


def test_minimum_tasks_above_maximum_is_refused() -> None:
    with pytest.raises(ValidationError, match="MIN_TASKS"):
        settings(scaling={"min_tasks": 5, "max_tasks": 2})


@pytest.mark.parametrize("window_s", [30, 90, 3600])
def test_waf_windows_are_those_waf_offers(window_s: int) -> None:
    with pytest.raises(ValidationError, match="60, 120, 300, 600"):
        settings(waf={"window_s": window_s})


def test_fargate_cpu_must_be_a_fargate_size() -> None:
    with pytest.raises(ValidationError, match="Fargate CPU size"):
        settings(cpu=3000)


@pytest.mark.parametrize(
    ("knowledge_base", "service"), [("Default", "Svc"), ("Same", "Same"), ("Kb", "Default")]
)
def test_stack_names_must_differ_and_avoid_cdks_default(knowledge_base: str, service: str) -> None:
    with pytest.raises(ValidationError, match="must differ"):
        InfraSettings(_env_file=None, stack_name=knowledge_base, service={"stack_name": service})
