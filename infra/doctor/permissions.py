"""Whether the caller may make each call the service makes: IAM policy simulation."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from infra.doctor.aws import IAM_DOC, AwsClients, Identity, call_failed
from infra.doctor.calls import ServiceCall
from infra.doctor.results import CheckResult, fail, ok, skip


def principal_arn(identity: Identity, clients: AwsClients) -> str | None:
    """The IAM ARN to simulate for the caller; None for the root user."""
    arn = identity.arn
    if arn.endswith(":root"):
        return None
    if ":assumed-role/" in arn:
        role_name = arn.split(":assumed-role/", 1)[1].split("/", 1)[0]
        try:
            return str(clients.iam.get_role(RoleName=role_name)["Role"]["Arn"])
        except (ClientError, BotoCoreError):  # a role with a path needs GetRole; else guess
            return f"arn:aws:iam::{identity.account}:role/{role_name}"
    return arn


def check_permissions(
    calls: list[ServiceCall], identity: Identity, clients: AwsClients
) -> list[CheckResult]:
    principal = principal_arn(identity, clients)
    if principal is None:
        return [skip("permissions", "the root user may make every call (do not serve as root)")]
    if not calls:
        return [skip("permissions", "no AWS backend configured")]
    return [_simulate(call, principal, clients) for call in calls]


def _simulate(call: ServiceCall, principal: str, clients: AwsClients) -> CheckResult:
    name = f"permission: {call.purpose}"
    denied: list[str] = []
    arguments: dict[str, Any] = {
        "PolicySourceArn": principal,
        "ActionNames": list(call.actions),
        "ResourceArns": list(call.resources),
    }
    try:
        while True:
            reply = clients.iam.simulate_principal_policy(**arguments)
            denied += [
                f"{result['EvalActionName']} on {result.get('EvalResourceName', '*')}"
                for result in reply.get("EvaluationResults", [])
                if result.get("EvalDecision") != "allowed"
            ]
            if not reply.get("IsTruncated"):
                break
            arguments["Marker"] = reply["Marker"]
    except (ClientError, BotoCoreError) as error:
        fix = f"allow iam:SimulatePrincipalPolicy on {principal}, or compare with {IAM_DOC}"
        return call_failed(name, "iam:SimulatePrincipalPolicy", error, fix)
    if denied:
        detail = f"{principal} is denied " + "; ".join(denied)
        return fail(name, detail, f"allow them in the service's IAM policy ({IAM_DOC})")
    return ok(name, f"{', '.join(call.actions)} allowed on {len(call.resources)} resource(s)")
