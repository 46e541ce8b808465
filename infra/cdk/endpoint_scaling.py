"""Application Auto Scaling of the SageMaker endpoint: instances (or copies) follow invocations."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_applicationautoscaling as autoscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from infra.cdk.service_settings import EndpointScalingSettings

SAGEMAKER_NAMESPACE = "AWS/SageMaker"


def scaling_target_of(settings: EndpointScalingSettings) -> tuple[str, str]:
    """(resource id, scalable dimension): the variant's instances, or the component's copies."""
    if settings.inference_component is not None:
        return (
            f"inference-component/{settings.inference_component}",
            "sagemaker:inference-component:DesiredCopyCount",
        )
    return (
        f"endpoint/{settings.name}/variant/{settings.variant_name}",
        "sagemaker:variant:DesiredInstanceCount",
    )


def model_latency(settings: EndpointScalingSettings) -> cloudwatch.Metric:
    """The endpoint's p95 ModelLatency (SageMaker reports it in microseconds)."""
    return cloudwatch.Metric(
        namespace=SAGEMAKER_NAMESPACE,
        metric_name="ModelLatency",
        dimensions_map={"EndpointName": str(settings.name), "VariantName": settings.variant_name},
        statistic="p95",
        period=Duration.minutes(5),
        label="endpoint p95 ModelLatency (µs)",
    )


def invocations(settings: EndpointScalingSettings) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace=SAGEMAKER_NAMESPACE,
        metric_name="Invocations",
        dimensions_map={"EndpointName": str(settings.name), "VariantName": settings.variant_name},
        statistic="Sum",
        period=Duration.minutes(1),
        label="endpoint invocations",
    )


def _scale_out_from_zero(target: autoscaling.ScalableTarget, component: str) -> None:
    # Target tracking never leaves 0 copies (there is no per-copy traffic to track); requests
    # refused for want of a copy are the signal that one is needed.
    refused = cloudwatch.Metric(
        namespace=SAGEMAKER_NAMESPACE,
        metric_name="NoCapacityInvocationFailures",
        dimensions_map={"InferenceComponentName": component},
        statistic="Maximum",
        period=Duration.minutes(1),
    )
    target.scale_on_metric(
        "ScaleOutFromZero",
        metric=refused,
        scaling_steps=[
            autoscaling.ScalingInterval(upper=0, change=0),
            autoscaling.ScalingInterval(lower=1, change=1),
        ],
        adjustment_type=autoscaling.AdjustmentType.CHANGE_IN_CAPACITY,
        cooldown=Duration.minutes(1),
    )


def autoscale_endpoint(
    scope: Construct, settings: EndpointScalingSettings
) -> autoscaling.ScalableTarget:
    """A scalable target between min and max capacity, tracking invocations per instance."""
    resource_id, dimension = scaling_target_of(settings)
    target = autoscaling.ScalableTarget(
        scope,
        "EndpointScaling",
        service_namespace=autoscaling.ServiceNamespace.SAGEMAKER,
        resource_id=resource_id,
        scalable_dimension=dimension,
        min_capacity=settings.min_capacity,
        max_capacity=settings.max_capacity,
    )
    metric = (
        autoscaling.PredefinedMetric.SAGEMAKER_INFERENCE_COMPONENT_INVOCATIONS_PER_COPY
        if settings.inference_component is not None
        else autoscaling.PredefinedMetric.SAGEMAKER_VARIANT_INVOCATIONS_PER_INSTANCE
    )
    target.scale_to_track_metric(
        "InvocationsPerInstance",
        target_value=settings.invocations_per_instance,
        predefined_metric=metric,
        scale_in_cooldown=Duration.minutes(5),
        scale_out_cooldown=Duration.minutes(1),
    )
    if settings.inference_component is not None and settings.min_capacity == 0:
        _scale_out_from_zero(target, settings.inference_component)
    return target
