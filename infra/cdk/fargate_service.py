"""The replicas: the project's image on ECS Fargate behind an Application Load Balancer."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from app.settings import PROJECT_ROOT
from infra.cdk.service_settings import ServiceSettings

CONTAINER_PORT = 8000
CONTAINER_NAME = "api"
# /ready as ECS's container health check: healthy once the models are loaded. /ready also
# answers 503 while a backend's circuit is open, but that is the backend's failure: replacing
# the task would not mend it, so the probe counts "circuit open" as healthy.
READY_PROBE = f"""import json, urllib.error, urllib.request
try:
    urllib.request.urlopen('http://127.0.0.1:{CONTAINER_PORT}/ready', timeout=4)
except urllib.error.HTTPError as refused:
    detail = json.load(refused).get('detail') or ''
    raise SystemExit(0 if detail.startswith('circuit open') else 1)
"""


@dataclass(frozen=True)
class FargateFleet:
    """What the alarms, the dashboard and the outputs look at."""

    service: ecs.FargateService
    load_balancer: elbv2.ApplicationLoadBalancer
    target_group: elbv2.ApplicationTargetGroup
    log_group: logs.LogGroup
    api_key_digests: secretsmanager.ISecret
    url: str


def _api_key_digests(scope: Construct, settings: ServiceSettings) -> secretsmanager.ISecret:
    if settings.api_key_digests_secret_arn is not None:
        return secretsmanager.Secret.from_secret_complete_arn(
            scope, "ApiKeyDigests", settings.api_key_digests_secret_arn
        )
    # 64 random hex characters: a valid digest of a key nobody holds, so the service starts
    # closed until you put the digests of your keys in.
    return secretsmanager.Secret(
        scope,
        "ApiKeyDigests",
        description="fm-tailor FMT_API_KEYS: comma-separated SHA-256 digests of the API keys",
        generate_secret_string=secretsmanager.SecretStringGenerator(
            password_length=64,
            exclude_punctuation=True,
            exclude_uppercase=True,
            exclude_characters="ghijklmnopqrstuvwxyz",
            include_space=False,
        ),
    )


def service_environment(settings: ServiceSettings, knowledge_base_id: str | None) -> dict[str, str]:
    """The FMT_* variables of a replica: backends, JSON logs, the address behind the ALB."""
    environment = {
        "FMT_HOST": "0.0.0.0",
        "FMT_PORT": str(CONTAINER_PORT),
        "FMT_WORKERS": str(settings.workers),
        "FMT_LOG_FORMAT": "json",
        "FMT_RETRIEVER": settings.retriever,
        "FMT_GENERATOR": settings.generator,
        "FMT_TUNED_GENERATOR": settings.tuned_generator,
        "AWS_REGION": Aws.REGION,
        # The load balancer's nodes live in the VPC (created with CDK's default range): only
        # their X-Forwarded-For is believed, so the per-replica limits see each client's address
        # (the right-most the ALB appended), never one a client wrote itself.
        "FMT_TRUSTED_PROXIES": ec2.Vpc.DEFAULT_CIDR_RANGE,
    }
    if knowledge_base_id is not None:
        environment["FMT_BEDROCK__KNOWLEDGE_BASE_ID"] = knowledge_base_id
    if settings.uses("bedrock"):
        environment["FMT_BEDROCK__MODEL_ID"] = settings.model_id
    if settings.tuned_model_id is not None:
        environment["FMT_BEDROCK__TUNED_MODEL_ID"] = settings.tuned_model_id
    if settings.endpoint.name is not None:
        environment["FMT_SAGEMAKER__ENDPOINT_NAME"] = settings.endpoint.name
    if settings.endpoint.inference_component is not None:
        environment["FMT_SAGEMAKER__INFERENCE_COMPONENT"] = settings.endpoint.inference_component
    return environment


def _task_definition(
    scope: Construct,
    settings: ServiceSettings,
    task_role: iam.IRole,
    log_group: logs.ILogGroup,
    api_key_digests: secretsmanager.ISecret,
    knowledge_base_id: str | None,
) -> ecs.FargateTaskDefinition:
    task = ecs.FargateTaskDefinition(
        scope,
        "Task",
        cpu=settings.cpu,
        memory_limit_mib=settings.memory_mib,
        task_role=task_role,
        runtime_platform=ecs.RuntimePlatform(
            cpu_architecture=ecs.CpuArchitecture.X86_64,
            operating_system_family=ecs.OperatingSystemFamily.LINUX,
        ),
    )
    image = ecs.ContainerImage.from_asset(
        str(PROJECT_ROOT),
        file="Dockerfile",
        platform=ecr_assets.Platform.LINUX_AMD64,
        build_args={"TRAIN_ADAPTER": str(settings.train_adapter).lower()},
    )
    task.add_container(
        CONTAINER_NAME,
        image=image,
        essential=True,
        environment=service_environment(settings, knowledge_base_id),
        secrets={"FMT_API_KEYS": ecs.Secret.from_secrets_manager(api_key_digests)},
        logging=ecs.LogDrivers.aws_logs(stream_prefix="service", log_group=log_group),
        port_mappings=[ecs.PortMapping(container_port=CONTAINER_PORT)],
        readonly_root_filesystem=False,
        health_check=ecs.HealthCheck(
            command=["CMD", "python", "-c", READY_PROBE],
            interval=Duration.seconds(15),
            timeout=Duration.seconds(5),
            retries=3,
            start_period=Duration.seconds(120),
        ),
    )
    return task


def _listener(
    load_balancer: elbv2.ApplicationLoadBalancer, settings: ServiceSettings
) -> tuple[elbv2.ApplicationListener, str]:
    if settings.certificate_arn is None:
        listener = load_balancer.add_listener("Http", port=80, open=True)
        return listener, f"http://{load_balancer.load_balancer_dns_name}"
    certificate = acm.Certificate.from_certificate_arn(
        load_balancer, "Certificate", settings.certificate_arn
    )
    listener = load_balancer.add_listener(
        "Https",
        port=443,
        open=True,
        certificates=[elbv2.ListenerCertificate.from_certificate_manager(certificate)],
        ssl_policy=elbv2.SslPolicy.RECOMMENDED_TLS,
    )
    load_balancer.add_redirect(source_port=80, target_port=443)
    return listener, f"https://{load_balancer.load_balancer_dns_name}"


def _autoscale(
    service: ecs.FargateService,
    target_group: elbv2.ApplicationTargetGroup,
    settings: ServiceSettings,
) -> None:
    scaling = settings.scaling
    tasks = service.auto_scale_task_count(
        min_capacity=scaling.min_tasks, max_capacity=scaling.max_tasks
    )
    scale_in = Duration.seconds(scaling.scale_in_cooldown_s)
    scale_out = Duration.seconds(scaling.scale_out_cooldown_s)
    tasks.scale_on_request_count(
        "RequestsPerTask",
        requests_per_target=scaling.requests_per_target,
        target_group=target_group,
        scale_in_cooldown=scale_in,
        scale_out_cooldown=scale_out,
    )
    tasks.scale_on_cpu_utilization(
        "CpuUtilization",
        target_utilization_percent=scaling.cpu_percent,
        scale_in_cooldown=scale_in,
        scale_out_cooldown=scale_out,
    )


def _load_balance(
    scope: Construct, vpc: ec2.IVpc, service: ecs.FargateService, settings: ServiceSettings
) -> tuple[elbv2.ApplicationLoadBalancer, elbv2.ApplicationTargetGroup, str]:
    """An internet-facing ALB sending to the service's tasks, checking `/health`."""
    load_balancer = elbv2.ApplicationLoadBalancer(
        scope, "LoadBalancer", vpc=vpc, internet_facing=True, drop_invalid_header_fields=True
    )
    # Generation can take a minute on a slow backend; the default idle timeout is 60 s.
    load_balancer.set_attribute("idle_timeout.timeout_seconds", "120")
    listener, url = _listener(load_balancer, settings)
    target_group = listener.add_targets(
        "Replicas",
        port=CONTAINER_PORT,
        protocol=elbv2.ApplicationProtocol.HTTP,
        targets=[service],
        # A replica leaving (scale-in, deployment) gets this long to finish its requests; an
        # answer may stream for up to FMT_GENERATION__TIMEOUT_S (60 s).
        deregistration_delay=Duration.seconds(75),
        health_check=elbv2.HealthCheck(
            path="/health",
            healthy_http_codes="200",
            interval=Duration.seconds(15),
            timeout=Duration.seconds(5),
            healthy_threshold_count=2,
            unhealthy_threshold_count=3,
        ),
    )
    return load_balancer, target_group, url


def create_fargate_fleet(
    scope: Construct,
    settings: ServiceSettings,
    task_role: iam.IRole,
    knowledge_base_id: str | None,
) -> FargateFleet:
    """VPC, cluster, task, service, load balancer, health checks and task autoscaling."""
    vpc = ec2.Vpc(scope, "Vpc", max_azs=2, nat_gateways=settings.nat_gateways)
    # No Container Insights: the alarms and dashboard use the free AWS/ECS and ALB metrics.
    cluster = ecs.Cluster(scope, "Cluster", vpc=vpc)
    log_group = logs.LogGroup(
        scope,
        "ServiceLog",
        retention=_retention(settings.log_retention_days),
        removal_policy=RemovalPolicy.DESTROY,
    )
    api_key_digests = _api_key_digests(scope, settings)
    task = _task_definition(
        scope, settings, task_role, log_group, api_key_digests, knowledge_base_id
    )
    service = ecs.FargateService(
        scope,
        "Service",
        cluster=cluster,
        task_definition=task,
        desired_count=settings.scaling.min_tasks,
        assign_public_ip=settings.nat_gateways == 0,
        vpc_subnets=ec2.SubnetSelection(
            subnet_type=ec2.SubnetType.PUBLIC
            if settings.nat_gateways == 0
            else ec2.SubnetType.PRIVATE_WITH_EGRESS
        ),
        circuit_breaker=ecs.DeploymentCircuitBreaker(rollback=True),
        health_check_grace_period=Duration.seconds(180),
        min_healthy_percent=100,
    )
    load_balancer, target_group, url = _load_balance(scope, vpc, service, settings)
    _autoscale(service, target_group, settings)
    return FargateFleet(service, load_balancer, target_group, log_group, api_key_digests, url)


_RETENTION = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    90: logs.RetentionDays.THREE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
}


def _retention(days: int) -> logs.RetentionDays:
    """The shortest of these retentions that keeps `days` (CloudWatch takes a fixed set)."""
    return next(
        (retention for kept, retention in sorted(_RETENTION.items()) if kept >= days),
        logs.RetentionDays.ONE_YEAR,
    )
