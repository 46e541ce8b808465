"""The Knowledge Base role's Bedrock permissions: a model directly, or a profile and its regions."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("aws_cdk", reason="the infra extra (aws-cdk-lib) is not installed")

from aws_cdk import App, Stack
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template

from infra.cdk.model_access import invoke_model_statements
from tests.infra.test_cdk_stack import render


def statements_for(model_id: str) -> list[dict[str, Any]]:
    stack = Stack(App(), "Access", env={"account": "123456789012", "region": "us-east-1"})
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("bedrock.amazonaws.com"))
    for statement in invoke_model_statements(model_id, "Embed"):
        role.add_to_policy(statement)
    policies = Template.from_stack(stack).find_resources("AWS::IAM::Policy")
    (policy,) = policies.values()
    found: list[dict[str, Any]] = render(policy["Properties"]["PolicyDocument"])["Statement"]
    return found


def test_a_foundation_model_is_allowed_in_the_stacks_region_only() -> None:
    (statement,) = statements_for("amazon.titan-embed-text-v2:0")

    assert statement["Action"] == "bedrock:InvokeModel"
    assert statement["Resource"] == (
        "arn:${AWS::Partition}:bedrock:${AWS::Region}::foundation-model/amazon.titan-embed-text-v2:0"
    )


def test_a_profile_is_allowed_with_the_model_in_every_region_it_routes_to() -> None:
    # issue 12: the policy must allow the profile and the model in each routed region.
    profile, routed = statements_for("us.meta.llama3-1-8b-instruct-v1:0")
    profile_arn = (
        "arn:${AWS::Partition}:bedrock:${AWS::Region}:${AWS::AccountId}:inference-profile/"
        "us.meta.llama3-1-8b-instruct-v1:0"
    )

    assert profile["Resource"] == profile_arn
    assert routed["Resource"] == [
        f"arn:${{AWS::Partition}}:bedrock:{region}::foundation-model/meta.llama3-1-8b-instruct-v1:0"
        for region in ("us-east-1", "us-east-2", "us-west-2")
    ]
    assert routed["Condition"] == {"StringEquals": {"bedrock:InferenceProfileArn": profile_arn}}


def test_a_profile_of_unlisted_destinations_gets_its_model_in_any_region_through_it_only() -> None:
    _, routed = statements_for("eu.cohere.embed-v4:0")

    assert (
        routed["Resource"] == "arn:${AWS::Partition}:bedrock:*::foundation-model/cohere.embed-v4:0"
    )
    assert "bedrock:InferenceProfileArn" in routed["Condition"]["StringEquals"]
