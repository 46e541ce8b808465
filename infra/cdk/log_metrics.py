"""Metrics read from the service's JSON access log: per strategy, and calls refused by a circuit."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_logs as logs
from constructs import Construct

from app.strategies.table import STRATEGY_NAMES

ROUTE_DIMENSION = "Route"
LATENCY_METRIC = "StrategyLatency"
ERRORS_METRIC = "StrategyServerErrors"
CIRCUIT_METRIC = "CircuitOpenRefusals"

# `app.core.observability` writes one line per request from the `app.access` logger, with the route
# template, the status and duration_ms; a call an open circuit refused adds `<backend>:circuit_open`
# to its backend_errors, and that term appears nowhere else in the service's log.
_STRATEGY_ROUTES = " || ".join(f'$.route = "/{name}"' for name in STRATEGY_NAMES)
LATENCY_PATTERN = f'{{ $.logger = "app.access" && ({_STRATEGY_ROUTES}) && $.duration_ms = * }}'
ERRORS_PATTERN = f'{{ $.logger = "app.access" && ({_STRATEGY_ROUTES}) && $.status >= 500 }}'
CIRCUIT_PATTERN = '"circuit_open"'


@dataclass(frozen=True)
class LogMetrics:
    """The metrics the filters publish, for alarms and the dashboard."""

    namespace: str

    def latency(self, strategy: str, statistic: str) -> cloudwatch.Metric:
        return self._metric(LATENCY_METRIC, strategy, statistic, "Milliseconds")

    def requests(self, strategy: str) -> cloudwatch.Metric:
        return self._metric(LATENCY_METRIC, strategy, "SampleCount", "Count")

    def server_errors(self, strategy: str) -> cloudwatch.Metric:
        return self._metric(ERRORS_METRIC, strategy, "Sum", "Count")

    def circuit_refusals(self) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=self.namespace,
            metric_name=CIRCUIT_METRIC,
            statistic="Sum",
            period=Duration.minutes(1),
            label="calls refused by an open circuit",
        )

    def _metric(self, name: str, strategy: str, statistic: str, label: str) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=self.namespace,
            metric_name=name,
            dimensions_map={ROUTE_DIMENSION: f"/{strategy}"},
            statistic=statistic,
            period=Duration.minutes(1),
            label=f"{strategy} {statistic} ({label})",
        )


def create_log_metrics(scope: Construct, log_group: logs.ILogGroup, namespace: str) -> LogMetrics:
    """The metric filters on the service's log group."""
    route = {ROUTE_DIMENSION: "$.route"}
    logs.MetricFilter(
        scope,
        "StrategyLatencyFilter",
        log_group=log_group,
        filter_pattern=logs.FilterPattern.literal(LATENCY_PATTERN),
        metric_namespace=namespace,
        metric_name=LATENCY_METRIC,
        metric_value="$.duration_ms",
        dimensions=route,
        unit=cloudwatch.Unit.MILLISECONDS,
    )
    logs.MetricFilter(
        scope,
        "StrategyServerErrorsFilter",
        log_group=log_group,
        filter_pattern=logs.FilterPattern.literal(ERRORS_PATTERN),
        metric_namespace=namespace,
        metric_name=ERRORS_METRIC,
        metric_value="1",
        dimensions=route,
        unit=cloudwatch.Unit.COUNT,
    )
    logs.MetricFilter(
        scope,
        "CircuitOpenFilter",
        log_group=log_group,
        filter_pattern=logs.FilterPattern.literal(CIRCUIT_PATTERN),
        metric_namespace=namespace,
        metric_name=CIRCUIT_METRIC,
        metric_value="1",
        default_value=0,
        unit=cloudwatch.Unit.COUNT,
    )
    return LogMetrics(namespace)
