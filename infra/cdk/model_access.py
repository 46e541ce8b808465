"""IAM statements that let a role invoke one Bedrock model, directly or through its profile.

A cross-region inference profile (`us.`, `eu.`, `apac.` ids) routes each call to one of its
destination regions, so the role needs the profile in the stack's region and the foundation model
in every region the profile may route to.
"""

from __future__ import annotations

from aws_cdk import Aws
from aws_cdk import aws_iam as iam

from app.generators.bedrock_models import PROFILE_DESTINATIONS, split_profile_id


def foundation_model_arn(model_id: str, region: str = Aws.REGION) -> str:
    """A foundation model's ARN (foundation models have no account in their ARN)."""
    return f"arn:{Aws.PARTITION}:bedrock:{region}::foundation-model/{model_id}"


def inference_profile_arn(profile_id: str) -> str:
    return (
        f"arn:{Aws.PARTITION}:bedrock:{Aws.REGION}:{Aws.ACCOUNT_ID}:inference-profile/{profile_id}"
    )


def invoke_model_statements(model_id: str, sid: str) -> list[iam.PolicyStatement]:
    """`bedrock:InvokeModel` on `model_id`: the model, or the profile and its routed models."""
    geography, foundation_model = split_profile_id(model_id)
    if geography is None:
        return [
            iam.PolicyStatement(
                sid=sid, actions=["bedrock:InvokeModel"], resources=[foundation_model_arn(model_id)]
            )
        ]
    profile = inference_profile_arn(model_id)
    destinations = PROFILE_DESTINATIONS.get(foundation_model, {}).get(geography)
    # A profile whose destinations this project does not list: every region, for this profile only.
    routed = [foundation_model_arn(foundation_model, region) for region in destinations or ("*",)]
    return [
        iam.PolicyStatement(
            sid=f"{sid}Profile", actions=["bedrock:InvokeModel"], resources=[profile]
        ),
        iam.PolicyStatement(
            sid=f"{sid}RoutedRegions",
            actions=["bedrock:InvokeModel"],
            resources=routed,
            conditions={"StringEquals": {"bedrock:InferenceProfileArn": profile}},
        ),
    ]
