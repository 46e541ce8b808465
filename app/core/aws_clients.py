"""boto3 clients of the AWS backends: region, pools and timeouts from settings, the rest from AWS_*.

Credentials, profiles and endpoint overrides (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_BEDROCK_RUNTIME,
...) are left to boto3, which reads the standard variables itself.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Protocol

import boto3
from botocore.config import Config

from app.settings import BedrockSettings, SageMakerSettings

if TYPE_CHECKING:
    from mypy_boto3_bedrock_agent_runtime import AgentsforBedrockRuntimeClient
    from mypy_boto3_bedrock_runtime import BedrockRuntimeClient
    from mypy_boto3_sagemaker_runtime import SageMakerRuntimeClient

USER_AGENT_EXTRA = "fm-tailor/0.1"


class ClientSettings(Protocol):
    region: str | None
    connect_timeout_s: float
    read_timeout_s: float
    max_pool_connections: int


def client_config(settings: ClientSettings) -> Config:
    """Pools sized for many concurrent calls; botocore's own retries off: `app.resilience.retry`
    does them within the request's deadline instead of botocore's own schedule."""
    return Config(
        connect_timeout=settings.connect_timeout_s,
        read_timeout=settings.read_timeout_s,
        max_pool_connections=settings.max_pool_connections,
        retries={"total_max_attempts": 1, "mode": "standard"},
        tcp_keepalive=True,
        user_agent_extra=USER_AGENT_EXTRA,
    )


def aws_session(region: str | None, region_variable: str) -> boto3.session.Session:
    """A fresh session (sessions are not thread-safe, clients are); fails early without a region.

    boto3 itself reads only AWS_DEFAULT_REGION and the profile; AWS_REGION (what the AWS runtimes
    and newer SDKs set) is honoured here, after the setting and before those.
    """
    session = boto3.session.Session(region_name=region or os.environ.get("AWS_REGION") or None)
    if session.region_name is None:
        raise ValueError(f"no AWS region: set AWS_REGION (or {region_variable})")
    return session


def bedrock_runtime_client(settings: BedrockSettings) -> BedrockRuntimeClient:
    session = aws_session(settings.region, "FMT_BEDROCK__REGION")
    return session.client("bedrock-runtime", config=client_config(settings))


def bedrock_agent_runtime_client(settings: BedrockSettings) -> AgentsforBedrockRuntimeClient:
    session = aws_session(settings.region, "FMT_BEDROCK__REGION")
    return session.client("bedrock-agent-runtime", config=client_config(settings))


def sagemaker_runtime_client(settings: SageMakerSettings) -> SageMakerRuntimeClient:
    session = aws_session(settings.region, "FMT_SAGEMAKER__REGION")
    return session.client("sagemaker-runtime", config=client_config(settings))
