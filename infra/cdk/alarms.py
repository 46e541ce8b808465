"""CloudWatch alarms of the fleet, sent to one SNS topic: errors, latency, circuits, the model."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from infra.cdk.endpoint_scaling import model_latency
from infra.cdk.log_metrics import LogMetrics
from infra.cdk.service_settings import ServiceSettings

FIVE_MINUTES = Duration.minutes(5)
ERROR_RATE_EXPRESSION = "100 * (FILL(target5xx, 0) + FILL(elb5xx, 0)) / requests"


def error_rate(load_balancer: elbv2.IApplicationLoadBalancer) -> cloudwatch.MathExpression:
    """5xx answers (from the replicas and from the ALB itself) over requests, in percent.

    CloudWatch publishes no 5xx datapoint for a period without 5xx, and an expression over a
    missing datapoint is missing: FILL makes a clean period 0 % instead of no data."""
    metrics = load_balancer.metrics
    return cloudwatch.MathExpression(
        expression=ERROR_RATE_EXPRESSION,
        using_metrics={
            "target5xx": metrics.http_code_target(
                elbv2.HttpCodeTarget.TARGET_5XX_COUNT, period=FIVE_MINUTES
            ),
            "elb5xx": metrics.http_code_elb(elbv2.HttpCodeElb.ELB_5XX_COUNT, period=FIVE_MINUTES),
            "requests": metrics.request_count(period=FIVE_MINUTES),
        },
        label="5xx rate (%)",
        period=FIVE_MINUTES,
    )


def create_alarms(
    scope: Construct,
    settings: ServiceSettings,
    load_balancer: elbv2.IApplicationLoadBalancer,
    log_metrics: LogMetrics,
) -> list[cloudwatch.Alarm]:
    """The four alarms the operations guide describes, each notifying the topic."""
    thresholds = settings.alarms
    topic = sns.Topic(scope, "Alarms", display_name="fm-tailor alarms")
    if thresholds.email is not None:
        topic.add_subscription(subscriptions.EmailSubscription(thresholds.email))
    alarms = [
        error_rate(load_balancer).create_alarm(
            scope,
            "ErrorRateAlarm",
            alarm_description="More than the allowed share of requests answered 5xx",
            threshold=thresholds.error_rate_percent,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        ),
        load_balancer.metrics.target_response_time(
            statistic="p95", period=FIVE_MINUTES
        ).create_alarm(
            scope,
            "LatencyAlarm",
            alarm_description="p95 time for a replica to answer, at the load balancer",
            threshold=thresholds.p95_latency_s,
            evaluation_periods=2,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        ),
        log_metrics.circuit_refusals().create_alarm(
            scope,
            "OpenCircuitAlarm",
            alarm_description="A backend's circuit is open: its calls are refused with 503",
            threshold=thresholds.circuit_refusals,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        ),
    ]
    if settings.endpoint.name is not None:
        alarms.append(
            model_latency(settings.endpoint).create_alarm(
                scope,
                "ModelLatencyAlarm",
                alarm_description="p95 ModelLatency of the SageMaker endpoint",
                # SageMaker reports ModelLatency in microseconds.
                threshold=thresholds.model_latency_p95_s * 1_000_000,
                evaluation_periods=2,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
        )
    for alarm in alarms:
        alarm.add_alarm_action(actions.SnsAction(topic))
    return alarms
