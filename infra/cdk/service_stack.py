"""The service stack: the fleet, its edge limit, the endpoint's autoscaling, alarms, dashboard."""

from __future__ import annotations

from aws_cdk import CfnOutput, Environment, Stack
from constructs import Construct

from infra.cdk.alarms import create_alarms
from infra.cdk.bedrock_routes import bedrock_routes, with_resolved_models
from infra.cdk.dashboard import create_dashboard
from infra.cdk.endpoint_scaling import autoscale_endpoint
from infra.cdk.fargate_service import create_fargate_fleet
from infra.cdk.log_metrics import create_log_metrics
from infra.cdk.outputs import (
    OUTPUT_API_KEY_DIGESTS_SECRET,
    OUTPUT_CLUSTER,
    OUTPUT_SERVICE,
    OUTPUT_SERVICE_URL,
)
from infra.cdk.service_settings import ServiceSettings
from infra.cdk.task_role import create_task_role
from infra.cdk.waf import protect_load_balancer


class ServiceStack(Stack):
    """ECS Fargate replicas behind an ALB with WAF, autoscaled, logged, alarmed and charted.

    `knowledge_base_id` is the Knowledge Base stack's (a cross-stack reference) when the
    retriever is bedrock-kb. The image is a container asset, so this stack needs `cdk bootstrap`.
    """

    def __init__(
        self,
        scope: Construct,
        settings: ServiceSettings,
        knowledge_base_id: str | None,
        region: str | None = None,
    ) -> None:
        super().__init__(
            scope,
            settings.stack_name,
            description="fm-tailor: the service fleet on ECS Fargate behind a load balancer",
            env=Environment(region=region) if region else None,
        )
        routes = bedrock_routes(settings, region)
        settings = with_resolved_models(settings, routes)
        task_role = create_task_role(self, settings, knowledge_base_id, routes)
        fleet = create_fargate_fleet(self, settings, task_role, knowledge_base_id)
        protect_load_balancer(self, fleet.load_balancer, settings.waf)
        if settings.endpoint.name is not None:
            autoscale_endpoint(self, settings.endpoint)
        log_metrics = create_log_metrics(self, fleet.log_group, settings.metrics_namespace)
        create_alarms(self, settings, fleet.load_balancer, log_metrics)
        create_dashboard(self, settings, fleet.service, fleet.load_balancer, log_metrics)
        outputs = {
            OUTPUT_SERVICE_URL: (fleet.url, "make eval EVAL_URL=<this>"),
            OUTPUT_API_KEY_DIGESTS_SECRET: (
                fleet.api_key_digests.secret_arn,
                "Put the SHA-256 digests of your API keys here (FMT_API_KEYS)",
            ),
            OUTPUT_CLUSTER: (fleet.service.cluster.cluster_name, "ECS cluster"),
            OUTPUT_SERVICE: (fleet.service.service_name, "ECS service"),
        }
        for name, (value, description) in outputs.items():
            CfnOutput(self, name, value=value, description=description)
