"""The fleet's CloudWatch dashboard: the three strategies side by side, then the fleet."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from constructs import Construct

from app.strategies.runner import STRATEGY_NAMES
from infra.cdk.alarms import error_rate
from infra.cdk.endpoint_scaling import invocations, model_latency
from infra.cdk.log_metrics import LogMetrics
from infra.cdk.service_settings import ServiceSettings

COLUMN_WIDTH = 24 // len(STRATEGY_NAMES)


def _strategy_column(strategy: str, log_metrics: LogMetrics) -> list[cloudwatch.IWidget]:
    return [
        cloudwatch.GraphWidget(
            title=f"/{strategy}: latency (ms)",
            left=[
                log_metrics.latency(strategy, "p50"),
                log_metrics.latency(strategy, "p95"),
            ],
            width=COLUMN_WIDTH,
        ),
        cloudwatch.GraphWidget(
            title=f"/{strategy}: requests and 5xx per minute",
            left=[log_metrics.requests(strategy)],
            right=[log_metrics.server_errors(strategy)],
            width=COLUMN_WIDTH,
        ),
    ]


def create_dashboard(
    scope: Construct,
    settings: ServiceSettings,
    service: ecs.FargateService,
    load_balancer: elbv2.IApplicationLoadBalancer,
    log_metrics: LogMetrics,
) -> cloudwatch.Dashboard:
    """One row per view: per-strategy latency, per-strategy traffic, then the fleet."""
    dashboard = cloudwatch.Dashboard(scope, "Dashboard", default_interval=Duration.hours(3))
    columns = [_strategy_column(strategy, log_metrics) for strategy in STRATEGY_NAMES]
    for row in zip(*columns, strict=True):
        dashboard.add_widgets(*row)
    fleet: list[cloudwatch.IWidget] = [
        cloudwatch.GraphWidget(
            title="load balancer: p95 response time (s) and 5xx rate (%)",
            left=[load_balancer.metrics.target_response_time(statistic="p95")],
            right=[error_rate(load_balancer)],
            width=8,
        ),
        cloudwatch.GraphWidget(
            title="tasks: CPU (%) and calls refused by an open circuit",
            left=[service.metric_cpu_utilization()],
            right=[log_metrics.circuit_refusals()],
            width=8,
        ),
    ]
    if settings.endpoint.name is not None:
        fleet.append(
            cloudwatch.GraphWidget(
                title="endpoint: p95 model latency (µs) and invocations",
                left=[model_latency(settings.endpoint)],
                right=[invocations(settings.endpoint)],
                width=8,
            )
        )
    dashboard.add_widgets(*fleet)
    return dashboard
