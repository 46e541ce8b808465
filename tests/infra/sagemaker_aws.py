"""A moto AWS account for the SageMaker pipeline tests; the few calls moto lacks are answered."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

import boto3
import botocore.session
import pytest
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from botocore.model import StringShape
from moto import mock_aws
from moto.sagemaker import models as moto_sagemaker
from moto.sagemaker.exceptions import ValidationError

REGION = "us-east-1"
ACCOUNT = "123456789012"
ROLE_NAME = "SageMakerExecution"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/{ROLE_NAME}"
BUCKET = "tailor-bucket"
SAGEMAKER_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "sagemaker.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def allow_simulated_actions(params: dict[str, Any], **kwargs: Any) -> tuple[AWSResponse, Any]:
    """iam:SimulatePrincipalPolicy, which moto lacks: every action asked about is allowed."""
    body = params["body"]
    actions = [value for key, value in body.items() if key.startswith("ActionNames.member.")]
    results = [{"EvalActionName": action, "EvalDecision": "allowed"} for action in actions]
    return AWSResponse("https://iam.amazonaws.com/", 200, HTTPHeaders(), None), {
        "EvaluationResults": results,
        "IsTruncated": False,
    }


def _validate_against_service_model(self: Any, instance_type: str) -> None:
    # moto's own list of endpoint instance types predates the g5 family; botocore's SageMaker
    # model carries the service's current enum, so an unknown type is still refused.
    model = botocore.session.get_session().get_service_model("sagemaker")
    shape = cast(StringShape, model.shape_for("ProductionVariantInstanceType"))
    if instance_type not in shape.enum:
        raise ValidationError(message=f"bad instanceType {instance_type}")


@contextmanager
def moto_account(monkeypatch: pytest.MonkeyPatch) -> Iterator[boto3.session.Session]:
    """A moto account with the bucket and the execution role; yields a session in it."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    monkeypatch.setattr(
        moto_sagemaker.FakeEndpointConfig, "validate_instance_type", _validate_against_service_model
    )
    with mock_aws():
        session = boto3.session.Session(region_name=REGION)
        session.client("s3").create_bucket(Bucket=BUCKET)
        session.client("iam").create_role(
            RoleName=ROLE_NAME, AssumeRolePolicyDocument=json.dumps(SAGEMAKER_TRUST)
        )
        events: Any = session.events  # its stubs type handlers as returning None
        events.register("before-call.iam.SimulatePrincipalPolicy", allow_simulated_actions)
        yield session


def bucket_keys(session: boto3.session.Session) -> list[str]:
    listing = session.client("s3").list_objects_v2(Bucket=BUCKET)
    return sorted(item["Key"] for item in listing.get("Contents", []))


def channels(request: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {channel["ChannelName"]: channel for channel in request["InputDataConfig"]}


def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No credentials anywhere: what a user without an AWS account has."""
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    # No instance metadata service to ask either.
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
