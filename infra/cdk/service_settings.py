"""Settings of the service stack (`FMT_INFRA_SERVICE__*`): the fleet, its edge and its alarms."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

# The backends a replica can call; `openai` is left out: its server lives outside AWS's IAM.
ServiceRetriever = Literal["local", "bedrock-kb"]
ServiceGenerator = Literal["local", "bedrock", "sagemaker"]

# SageMaker endpoint and inference component names (CreateEndpoint's pattern).
_SAGEMAKER_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
# WAF rate-based rules count requests over one of these windows.
WAF_WINDOWS_S = (60, 120, 300, 600)


class ScalingSettings(BaseModel):
    """How many tasks run and when more start (`FMT_INFRA_SERVICE__SCALING__*`)."""

    min_tasks: int = Field(2, ge=1, description="Tasks always running (2: one per zone).")
    max_tasks: int = Field(10, ge=1, description="Most tasks target tracking may start.")
    requests_per_target: int = Field(
        300,
        ge=1,
        description="Target of ALBRequestCountPerTarget: requests per task per minute.",
    )
    cpu_percent: int = Field(60, ge=10, le=90, description="Target of average CPU utilization.")
    scale_in_cooldown_s: int = Field(300, ge=0)
    scale_out_cooldown_s: int = Field(60, ge=0)

    @model_validator(mode="after")
    def _min_below_max(self) -> ScalingSettings:
        if self.min_tasks > self.max_tasks:
            raise ValueError(
                "FMT_INFRA_SERVICE__SCALING__MIN_TASKS must not exceed "
                "FMT_INFRA_SERVICE__SCALING__MAX_TASKS"
            )
        return self


class WafSettings(BaseModel):
    """The fleet-wide rate limit at the load balancer (`FMT_INFRA_SERVICE__WAF__*`)."""

    requests_per_client: int = Field(
        600,
        ge=10,
        le=2_000_000_000,
        description="Requests one client (API key, else address) may send per window, across "
        "every replica; more are answered 429 by WAF.",
    )
    window_s: int = Field(60, description="Window of the count: 60, 120, 300 or 600 seconds.")

    @field_validator("window_s")
    @classmethod
    def _window_waf_offers(cls, value: int) -> int:
        if value not in WAF_WINDOWS_S:
            raise ValueError(f"must be one of {', '.join(map(str, WAF_WINDOWS_S))}")
        return value


class EndpointScalingSettings(BaseModel):
    """Application Auto Scaling of the SageMaker endpoint (`FMT_INFRA_SERVICE__ENDPOINT__*`)."""

    name: str | None = Field(
        None, description="The endpoint the tuned generator calls (`infra.finetune` prints it)."
    )
    variant_name: str = Field("AllTraffic", description="Its production variant.")
    inference_component: str | None = Field(
        None,
        description="Scale this inference component's copies instead of the variant's "
        "instances; the only way to reach 0.",
    )
    min_capacity: int = Field(
        1, ge=0, description="Instances (or copies) kept running; 0 needs an inference component."
    )
    max_capacity: int = Field(2, ge=1)
    invocations_per_instance: int = Field(
        30,
        ge=1,
        description="Target of SageMakerVariantInvocationsPerInstance (per copy with an "
        "inference component): invocations per minute.",
    )

    @field_validator("name", "inference_component")
    @classmethod
    def _sagemaker_name(cls, value: str | None) -> str | None:
        if value is not None and not _SAGEMAKER_NAME.match(value):
            raise ValueError("must be a SageMaker name: letters, digits, hyphens, at most 63")
        return value

    @model_validator(mode="after")
    def _capacity(self) -> EndpointScalingSettings:
        if self.min_capacity > self.max_capacity:
            raise ValueError(
                "FMT_INFRA_SERVICE__ENDPOINT__MIN_CAPACITY must not exceed "
                "FMT_INFRA_SERVICE__ENDPOINT__MAX_CAPACITY"
            )
        if self.min_capacity == 0 and self.inference_component is None:
            raise ValueError(
                "FMT_INFRA_SERVICE__ENDPOINT__MIN_CAPACITY=0 needs "
                "FMT_INFRA_SERVICE__ENDPOINT__INFERENCE_COMPONENT: a variant keeps 1 instance"
            )
        return self


class AlarmSettings(BaseModel):
    """Thresholds of the service's CloudWatch alarms (`FMT_INFRA_SERVICE__ALARMS__*`)."""

    email: str | None = Field(None, description="Subscribed to the alarm topic when set.")
    error_rate_percent: float = Field(
        5.0, gt=0, le=100, description="ALB 5xx responses over requests, per 5 minutes."
    )
    p95_latency_s: float = Field(
        10.0, gt=0, description="ALB p95 TargetResponseTime, per 5 minutes."
    )
    circuit_refusals: int = Field(
        1, ge=1, description="Requests refused by an open circuit in a minute."
    )
    model_latency_p95_s: float = Field(
        5.0, gt=0, description="SageMaker p95 ModelLatency of the endpoint, per 5 minutes."
    )


class ServiceSettings(BaseModel):
    """The service fleet: ECS Fargate tasks behind a load balancer (`FMT_INFRA_SERVICE__*`)."""

    stack_name: str = Field("FmTailorService", pattern=r"^[A-Za-z][A-Za-z0-9-]{0,127}$")
    retriever: ServiceRetriever = Field(
        "bedrock-kb", description="bedrock-kb: the Knowledge Base of the other stack."
    )
    generator: ServiceGenerator = Field("bedrock", description="Base model of rag.")
    tuned_generator: ServiceGenerator = Field(
        "local",
        description="Model of finetuned and hybrid; sagemaker needs ENDPOINT__NAME. local: the "
        "LoRA adapter trained into the image.",
    )
    model_id: str | None = Field(
        None,
        description="Bedrock model or inference profile id (or ARN) of the base generator; "
        "default: Llama 3.1 8B Instruct through the cross-region inference profile of the "
        "stack's region (us.meta.llama3-1-8b-instruct-v1:0 in a us-* region).",
    )
    tuned_model_id: str | None = Field(
        None, description="Bedrock model or ARN of the tuned generator when it is bedrock."
    )
    certificate_arn: str | None = Field(
        None, description="ACM certificate: the load balancer serves HTTPS on 443 when set."
    )
    api_key_digests_secret_arn: str | None = Field(
        None,
        description="Secrets Manager secret holding FMT_API_KEYS (comma-separated SHA-256 "
        "digests); default: a secret the stack creates, locked until you put your digests in.",
    )
    cpu: int = Field(2048, description="Task CPU units (1024 = 1 vCPU).")
    memory_mib: int = Field(4096, ge=512, description="Task memory.")
    workers: int = Field(1, ge=1, description="uvicorn workers per task (FMT_WORKERS).")
    nat_gateways: int = Field(
        1, ge=0, le=3, description="NAT gateways of the VPC the tasks reach AWS through."
    )
    log_retention_days: int = Field(30, ge=1)
    metrics_namespace: str = Field(
        "FmTailor", description="CloudWatch namespace of the metrics read from the service's log."
    )
    train_adapter: bool = Field(
        True, description="Train the local LoRA adapter while the image is built."
    )
    scaling: ScalingSettings = ScalingSettings()
    waf: WafSettings = WafSettings()
    endpoint: EndpointScalingSettings = EndpointScalingSettings()
    alarms: AlarmSettings = AlarmSettings()

    @field_validator("cpu")
    @classmethod
    def _fargate_cpu(cls, value: int) -> int:
        if value not in (256, 512, 1024, 2048, 4096, 8192, 16384):
            raise ValueError("must be a Fargate CPU size: 256, 512, 1024, 2048, 4096, 8192, 16384")
        return value

    @model_validator(mode="after")
    def _backends_configured(self) -> ServiceSettings:
        uses = {self.generator, self.tuned_generator}
        if "sagemaker" in uses and self.endpoint.name is None:
            raise ValueError(
                "FMT_INFRA_SERVICE__ENDPOINT__NAME must name the SageMaker endpoint when a "
                "generator of the service is sagemaker"
            )
        if self.tuned_generator == "bedrock" and self.tuned_model_id is None:
            raise ValueError(
                "FMT_INFRA_SERVICE__TUNED_MODEL_ID must be set when "
                "FMT_INFRA_SERVICE__TUNED_GENERATOR=bedrock"
            )
        return self

    def uses(self, generator: ServiceGenerator) -> bool:
        """Whether the base or the tuned generator is this backend."""
        return generator in (self.generator, self.tuned_generator)
