"""The SageMaker endpoints the generators call: status and instance type."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from app.settings import Settings
from infra.doctor.aws import AwsClients, call_failed, problem
from infra.doctor.calls import sagemaker_endpoints
from infra.doctor.results import CheckResult, fail, ok, skip


def check_endpoints(settings: Settings, clients: AwsClients) -> list[CheckResult]:
    endpoints = sagemaker_endpoints(settings)
    if not endpoints:
        if "sagemaker" in (settings.generator, settings.tuned_generator):
            fix = "set FMT_SAGEMAKER__ENDPOINT_NAME (python -m infra.finetune sagemaker-deploy)"
            return [fail("sagemaker endpoint", "FMT_SAGEMAKER__ENDPOINT_NAME is not set", fix)]
        return [skip("sagemaker endpoint", "no generator is sagemaker")]
    return [_check_endpoint(endpoint, clients) for endpoint in endpoints]


def _check_endpoint(endpoint: str, clients: AwsClients) -> CheckResult:
    name = f"sagemaker endpoint {endpoint}"
    region = clients.sagemaker_region
    setting_fix = (
        f"set FMT_SAGEMAKER__ENDPOINT_NAME to one of `aws sagemaker list-endpoints --region "
        f"{region}`, or deploy one: python -m infra.finetune sagemaker-deploy"
    )
    try:
        described = clients.sagemaker.describe_endpoint(EndpointName=endpoint)
    except (ClientError, BotoCoreError) as error:
        code, message = problem(error)
        if code == "ValidationException" and "not find" in message.lower():
            return fail(name, f"no endpoint {endpoint} in {region}", setting_fix)
        return call_failed(name, "sagemaker:DescribeEndpoint", error, setting_fix)
    status = described.get("EndpointStatus")
    if status in {"Creating", "Updating", "SystemUpdating"}:
        fix = f"wait: aws sagemaker wait endpoint-in-service --endpoint-name {endpoint}"
        return fail(name, f"{status}, not yet InService", fix)
    if status != "InService":
        reason = described.get("FailureReason", "")
        fix = "delete it (python -m infra.finetune sagemaker-delete) and deploy again"
        return fail(name, f"{status}: {reason}".rstrip(": "), fix)
    return ok(name, f"InService, {_instances(described, clients)}")


def _instances(described: dict[str, Any], clients: AwsClients) -> str:
    try:
        config = clients.sagemaker.describe_endpoint_config(
            EndpointConfigName=described["EndpointConfigName"]
        )
    except (ClientError, BotoCoreError) as error:
        return f"instance type unknown ({problem(error)[0]})"
    counts = {
        variant.get("VariantName"): variant.get("CurrentInstanceCount")
        for variant in described.get("ProductionVariants", [])
    }
    return ", ".join(
        f"{variant.get('InstanceType', 'serverless')} "
        f"x{counts.get(variant.get('VariantName'), '?')}"
        for variant in config.get("ProductionVariants", [])
    )
