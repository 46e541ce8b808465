"""The task role: exactly the AWS calls the configured backends of a replica make."""

from __future__ import annotations

from aws_cdk import Aws
from aws_cdk import aws_iam as iam
from constructs import Construct

from app.generators.bedrock_models import ModelRoute
from infra.cdk.service_settings import ServiceSettings

# Converse and ConverseStream are authorized as these two IAM actions.
CONVERSE_ACTIONS = ("bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream")
RETRIEVE_ACTIONS = ("bedrock:Retrieve",)
INVOKE_ENDPOINT_ACTIONS = (
    "sagemaker:InvokeEndpoint",
    "sagemaker:InvokeEndpointWithResponseStream",
)


def _bedrock_arn(resource: str, region: str = Aws.REGION, account: str = Aws.ACCOUNT_ID) -> str:
    return f"arn:{Aws.PARTITION}:bedrock:{region}:{account}:{resource}"


def converse_statements(routes: dict[str, ModelRoute]) -> list[iam.PolicyStatement]:
    """Converse on each route: the model (or ARN) as given, or the inference profile, and the
    foundation model in each region the profile routes to, only when called through it."""
    direct: list[str] = []
    statements: list[iam.PolicyStatement] = []
    for route in dict.fromkeys(routes.values()):
        if route.foundation_model is None:
            direct.append(route.model_id)
        elif route.geography is None:
            direct.append(_bedrock_arn(f"foundation-model/{route.model_id}", account=""))
        else:
            profile = _bedrock_arn(f"inference-profile/{route.model_id}")
            direct.append(profile)
            statements.append(
                iam.PolicyStatement(
                    sid=f"ConverseThroughTheProfileIn{len(statements) + 1}",
                    actions=list(CONVERSE_ACTIONS),
                    resources=[
                        _bedrock_arn(f"foundation-model/{route.foundation_model}", region, "")
                        for region in route.destination_regions
                    ],
                    conditions={"StringEquals": {"bedrock:InferenceProfileArn": profile}},
                )
            )
    if direct:
        statements.insert(
            0,
            iam.PolicyStatement(
                sid="ConverseWithTheConfiguredModels",
                actions=list(CONVERSE_ACTIONS),
                resources=list(dict.fromkeys(direct)),
            ),
        )
    return statements


def endpoint_arn(endpoint_name: str) -> str:
    # SageMaker writes endpoint names in lower case in its ARNs.
    return (
        f"arn:{Aws.PARTITION}:sagemaker:{Aws.REGION}:{Aws.ACCOUNT_ID}:"
        f"endpoint/{endpoint_name.lower()}"
    )


def task_statements(
    settings: ServiceSettings, knowledge_base_id: str | None, routes: dict[str, ModelRoute]
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
    statements += converse_statements(routes)
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
    scope: Construct,
    settings: ServiceSettings,
    knowledge_base_id: str | None,
    routes: dict[str, ModelRoute],
) -> iam.Role:
    """A role only ECS tasks may assume, allowed the backends' calls and nothing more."""
    role = iam.Role(
        scope,
        "TaskRole",
        assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
        description="fm-tailor service tasks: the calls of the configured backends",
    )
    for statement in task_statements(settings, knowledge_base_id, routes):
        role.add_to_policy(statement)
    return role
