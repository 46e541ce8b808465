"""Behind the load balancer each client keeps its own per-replica rate limit, and nobody else
can choose an address: the task trusts X-Forwarded-For from its VPC only (requests go to
127.0.0.1 from 127.0.0.2, which stands for the ALB when FMT_TRUSTED_PROXIES names it)."""

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
        "tests.load.fake_app:create_fake_app", environment=served_environment, as_main=True
    ) as served:
        transport = httpx.HTTPTransport(local_address="127.0.0.2")
        with httpx.Client(transport=transport, base_url=served.url, timeout=10) as client:
            return [
                client.post(
                    "/rag", json={"question": "q"}, headers={"X-Forwarded-For": address}
                ).status_code
                for address in ("203.0.113.1", "203.0.113.1", "203.0.113.2")
            ]


def _task_trust() -> dict[str, str]:
    task = service_environment(ServiceSettings(retriever="local", generator="local"), None)
    return {"FMT_TRUSTED_PROXIES": task["FMT_TRUSTED_PROXIES"]}


@pytest.mark.slow
def test_each_forwarded_client_has_its_own_limit_behind_a_trusted_proxy() -> None:
    assert statuses_of_two_clients({"FMT_TRUSTED_PROXIES": "127.0.0.2"}) == [200, 429, 200]


@pytest.mark.slow
def test_a_peer_outside_the_tasks_trusted_range_cannot_choose_its_address() -> None:
    assert statuses_of_two_clients(_task_trust()) == [200, 429, 429]
