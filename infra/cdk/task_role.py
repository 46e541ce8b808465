"""The task role: exactly the AWS calls the configured backends of a replica make."""

from __future__ import annotations

import re

from aws_cdk import Aws
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.cdk.service_settings import ServiceSettings

# Converse and ConverseStream are authorized as these two IAM actions.
CONVERSE_ACTIONS = ("bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream")
RETRIEVE_ACTIONS = ("bedrock:Retrieve",)
INVOKE_ENDPOINT_ACTIONS = (
    "sagemaker:InvokeEndpoint",
    "sagemaker:InvokeEndpointWithResponseStream",
)
# A cross-region inference profile id is a geography prefix before the model id.
_PROFILE_PREFIX = re.compile(r"^(us|eu|apac|us-gov|jp|au|ca|global)\.(.+)$")


def _bedrock_arn(resource: str, region: str = Aws.REGION, account: str = Aws.ACCOUNT_ID) -> str:
    return f"arn:{Aws.PARTITION}:bedrock:{region}:{account}:{resource}"


def model_resources(model_id: str) -> list[str]:
    """What Converse on `model_id` needs: the model, or the profile and the models it routes to.

    A profile sends a request to the model in any region of its geography, so the foundation
    model is granted in every region (`*`); an ARN (custom model, provisioned throughput,
    application profile) is granted as given.
    """
    if model_id.startswith("arn:"):
        return [model_id]
    profile = _PROFILE_PREFIX.match(model_id)
    if profile is None:
        return [_bedrock_arn(f"foundation-model/{model_id}", account="")]
    return [
        _bedrock_arn(f"inference-profile/{model_id}"),
        _bedrock_arn(f"foundation-model/{profile.group(2)}", region="*", account=""),
    ]


def endpoint_arn(endpoint_name: str) -> str:
    # SageMaker writes endpoint names in lower case in its ARNs.
    return (
        f"arn:{Aws.PARTITION}:sagemaker:{Aws.REGION}:{Aws.ACCOUNT_ID}:"
        f"endpoint/{endpoint_name.lower()}"
    )


def task_statements(
    settings: ServiceSettings, knowledge_base_id: str | None
) -> list[iam.PolicyStatement]:
    """One statement per backend the service is configured to call, nothing else."""
    statements: list[iam.PolicyStatement] = []
    if settings.retriever == "bedrock-kb":
        if knowledge_base_id is None:
            raise ValueError("the bedrock-kb retriever needs the Knowledge Base's id")
        statements.append(
            iam.PolicyStatement(
                sid="RetrieveFromTheKnowledgeBase",
                actions=list(RETRIEVE_ACTIONS),
                resources=[_bedrock_arn(f"knowledge-base/{knowledge_base_id}")],
            )
        )
    model_ids = [settings.model_id] if settings.generator == "bedrock" else []
    if settings.tuned_generator == "bedrock" and settings.tuned_model_id is not None:
        model_ids.append(settings.tuned_model_id)
    if model_ids:
        resources = list(
            dict.fromkeys(arn for model in model_ids for arn in model_resources(model))
        )
        statements.append(
            iam.PolicyStatement(
                sid="ConverseWithTheConfiguredModels",
                actions=list(CONVERSE_ACTIONS),
                resources=resources,
            )
        )
    if settings.uses("sagemaker") and settings.endpoint.name is not None:
        statements.append(
            iam.PolicyStatement(
                sid="InvokeTheEndpoint",
                actions=list(INVOKE_ENDPOINT_ACTIONS),
                resources=[endpoint_arn(settings.endpoint.name)],
            )
        )
    return statements


def create_task_role(
    scope: Construct, settings: ServiceSettings, knowledge_base_id: str | None
) -> iam.Role:
    """A role only ECS tasks may assume, allowed the backends' calls and nothing more."""
    role = iam.Role(
        scope,
        "TaskRole",
        assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
        description="fm-tailor service tasks: the calls of the configured backends",
    )
    for statement in task_statements(settings, knowledge_base_id):
        role.add_to_policy(statement)
    return role
