"""The doctor's checks in the order a person fixes them, each AWS error a report line.

Every check is read-only; nothing here writes to the account or raises past `run_checks`.
"""

from __future__ import annotations

from app.settings import Settings
from infra.doctor.aws import AwsClients
from infra.doctor.calls import service_calls
from infra.doctor.credentials import check_credentials
from infra.doctor.endpoints import check_endpoints
from infra.doctor.knowledge_base import check_knowledge_base
from infra.doctor.models import check_bedrock_models
from infra.doctor.permissions import check_permissions
from infra.doctor.results import CheckResult, skip


def run_checks(settings: Settings, clients: AwsClients) -> list[CheckResult]:
    """Every check, in the order a person fixes them: credentials first, permissions last."""
    credentials, identity = check_credentials(clients)
    if identity is None:
        return [credentials, skip("everything else", "needs working credentials")]
    model_results, routes = check_bedrock_models(settings, clients)
    results = [
        credentials,
        *model_results,
        *check_knowledge_base(settings, clients),
        *check_endpoints(settings, clients),
    ]
    calls = service_calls(
        settings, routes, clients.bedrock_region, identity.account, clients.sagemaker_region
    )
    results += check_permissions(calls, identity, clients)
    return results
