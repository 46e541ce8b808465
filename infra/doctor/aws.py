"""What every doctor check shares: the clients, the caller, and AWS errors as report lines."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from infra.doctor.results import CheckResult, fail

IAM_DOC = "docs/aws-backends.md, section 'Minimal IAM policy'"


@dataclass(frozen=True, slots=True)
class AwsClients:
    """boto3 clients (or stand-ins) for the services the doctor reads."""

    sts: Any
    iam: Any
    bedrock: Any
    bedrock_agent: Any
    sagemaker: Any
    bedrock_region: str
    sagemaker_region: str


@dataclass(frozen=True, slots=True)
class Identity:
    account: str
    arn: str


def problem(error: Exception) -> tuple[str, str]:
    """(code, message) of an AWS SDK error."""
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        return str(details.get("Code", "Unknown")), str(details.get("Message", ""))
    return type(error).__name__, str(error)


def _denied(code: str) -> bool:
    return code in {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"}


def call_failed(name: str, call: str, error: Exception, fix: str) -> CheckResult:
    code, message = problem(error)
    if _denied(code):
        return fail(name, f"{call} refused: {code}", f"allow {call} for this principal ({IAM_DOC})")
    return fail(name, f"{call} failed: {code}: {message}", fix)
