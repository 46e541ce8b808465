"""Behind the load balancer each client keeps its own per-replica rate limit: the task's
environment makes uvicorn trust X-Forwarded-For (requests go to 127.0.0.1 from 127.0.0.2, an
address uvicorn does not trust by default, as the ALB's is not)."""

from __future__ import annotations

import httpx
import pytest

from infra.cdk.fargate_service import service_environment
from infra.cdk.service_settings import ServiceSettings
from tests.uvicorn_process import uvicorn_process

# One request per client, then 429 for a minute.
LIMITS = {"FMT_LIMITS__RATE_LIMIT_PER_MINUTE": "1", "FMT_LIMITS__BURST": "1"}


def statuses_of_two_clients(environment: dict[str, str]) -> list[int]:
    served_environment = {
        **environment,
        **LIMITS,
        "FAKE_FAILURE_RATE": "0",
        "HF_HUB_OFFLINE": "1",
    }
    with uvicorn_process(
        "tests.load.fake_app:create_fake_app", environment=served_environment
    ) as served:
        transport = httpx.HTTPTransport(local_address="127.0.0.2")
        with httpx.Client(transport=transport, base_url=served.url, timeout=10) as client:
            return [
                client.post(
                    "/rag", json={"question": "q"}, headers={"X-Forwarded-For": address}
                ).status_code
                for address in ("203.0.113.1", "203.0.113.1", "203.0.113.2")
            ]


@pytest.mark.slow
def test_each_forwarded_client_has_its_own_limit_with_the_tasks_environment() -> None:
    task = service_environment(ServiceSettings(retriever="local", generator="local"), None)
    assert statuses_of_two_clients({"FORWARDED_ALLOW_IPS": task["FORWARDED_ALLOW_IPS"]}) == [
        200,
        429,
        200,
    ]


@pytest.mark.slow
def test_without_it_every_client_shares_the_proxys_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)
    assert statuses_of_two_clients({}) == [200, 429, 429]
