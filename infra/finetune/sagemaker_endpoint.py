"""The fine-tuned model on a SageMaker real-time endpoint, configured from JumpStart's metadata."""

from __future__ import annotations

import time
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from infra.finetune.hosting import Hosting, UnservableInstanceType, resolve_hosting
from infra.finetune.sagemaker_session import (
    SageMakerContext,
    SageMakerSetupError,
    require,
    setup_failure,
)
from infra.finetune.sagemaker_training import Reporter, Sleeper
from infra.finetune.serving_limits import ServingLimitError
from infra.finetune.settings import SageMakerFinetuneSettings

TERMINAL_ENDPOINT_STATUSES = {"InService", "Failed", "OutOfService"}
# Loading 16 GB of weights onto four GPUs takes a while; SageMaker's default is too short.
STARTUP_TIMEOUT_S = 3600
PROJECT_TAG = {"Key": "project", "Value": "fm-tailor"}


class EndpointFailed(RuntimeError):
    """The endpoint did not come into service."""


# Where a dry run without AWS has no training job to describe.
ARTIFACTS_PLACEHOLDER = "s3://dry-run-placeholder/{job_name}/output/model/"


def hosting_for(settings: SageMakerFinetuneSettings, context: SageMakerContext) -> Hosting:
    """The model's serving container on the endpoint's instance type, from JumpStart metadata."""
    from sagemaker.core.helper.iam_role_resolver import RoleValidationError

    try:
        return resolve_hosting(settings, context.region, context.sagemaker_session)
    except (ServingLimitError, UnservableInstanceType) as error:
        raise SageMakerSetupError(str(error)) from error
    except (ValueError, ClientError, RoleValidationError) as error:
        if (explained := setup_failure(error, settings)) is None:
            raise
        raise explained from error


def model_data(artifacts: str, gated: bool) -> dict[str, Any]:
    """CreateModel arguments for the job's artifacts: a tarball, or an uncompressed S3 prefix."""
    if artifacts.endswith(".tar.gz"):
        return {"ModelDataUrl": artifacts}
    source: dict[str, Any] = {
        "S3Uri": artifacts.rstrip("/") + "/",
        "S3DataType": "S3Prefix",
        "CompressionType": "None",
    }
    if gated:
        # Weights derived from a gated model are served only once its licence is accepted.
        source["ModelAccessConfig"] = {"AcceptEula": True}
    return {"ModelDataSource": {"S3DataSource": source}}


def model_request(
    settings: SageMakerFinetuneSettings, hosting: Hosting, name: str, artifacts: str
) -> dict[str, Any]:
    if not settings.accept_eula and hosting.gated:
        raise SageMakerSetupError(
            f"{settings.model_id} is gated: set FMT_FINETUNE__SAGEMAKER__ACCEPT_EULA=true"
        )
    return {
        "ModelName": name,
        "ExecutionRoleArn": require(settings.role_arn, "FMT_FINETUNE__SAGEMAKER__ROLE_ARN"),
        "PrimaryContainer": {
            "Image": hosting.image,
            "Environment": hosting.environment,
            **model_data(artifacts, hosting.gated),
        },
        "EnableNetworkIsolation": hosting.network_isolation,
        "Tags": [PROJECT_TAG],
    }


def endpoint_config_request(
    settings: SageMakerFinetuneSettings, hosting: Hosting, name: str
) -> dict[str, Any]:
    supported = hosting.supported_instance_types
    if supported and hosting.instance_type not in supported:
        raise SageMakerSetupError(
            f"FMT_FINETUNE__SAGEMAKER__ENDPOINT_INSTANCE_TYPE={hosting.instance_type} "
            f"cannot serve {settings.model_id}; JumpStart supports {', '.join(supported)}"
        )
    variant: dict[str, Any] = {
        "VariantName": "AllTraffic",
        "ModelName": name,
        "InstanceType": hosting.instance_type,
        "InitialInstanceCount": 1,
        "ModelDataDownloadTimeoutInSeconds": hosting.model_data_download_timeout_s
        or STARTUP_TIMEOUT_S,
        "ContainerStartupHealthCheckTimeoutInSeconds": hosting.startup_health_check_timeout_s
        or STARTUP_TIMEOUT_S,
    }
    return {"EndpointConfigName": name, "ProductionVariants": [variant], "Tags": [PROJECT_TAG]}


def deploy_requests(
    settings: SageMakerFinetuneSettings, hosting: Hosting, name: str, artifacts: str
) -> dict[str, dict[str, Any]]:
    """CreateModel, CreateEndpointConfig and CreateEndpoint (one name for all three)."""
    # All three are built first, so that a bad setting fails before anything is created.
    return {
        "CreateModel": model_request(settings, hosting, name, artifacts),
        "CreateEndpointConfig": endpoint_config_request(settings, hosting, name),
        "CreateEndpoint": {"EndpointName": name, "EndpointConfigName": name, "Tags": [PROJECT_TAG]},
    }


def deploy_job(
    context: SageMakerContext,
    settings: SageMakerFinetuneSettings,
    job_name: str,
    report: Reporter,
    sleep: Sleeper = time.sleep,
) -> dict[str, Any]:
    """Model, endpoint config and endpoint (one name for all three) from a finished job."""
    client = context.client("sagemaker")
    job = client.describe_training_job(TrainingJobName=job_name)
    if job["TrainingJobStatus"] != "Completed":
        raise EndpointFailed(f"{job_name} is {job['TrainingJobStatus']}, not Completed")
    artifacts = job["ModelArtifacts"]["S3ModelArtifacts"]
    hosting = hosting_for(settings, context)
    name = settings.endpoint_name or job_name
    requests = deploy_requests(settings, hosting, name, artifacts)
    client.create_model(**requests["CreateModel"])
    client.create_endpoint_config(**requests["CreateEndpointConfig"])
    client.create_endpoint(**requests["CreateEndpoint"])
    report(f"endpoint {name} is being created (10 to 30 minutes)")
    started = time.monotonic()
    status = wait_for_endpoint(client, name, settings.poll_interval_s, report, sleep)
    return {
        "endpoint_name": name,
        "model_name": name,
        "endpoint_config_name": name,
        "instance_type": hosting.instance_type,
        "inference_config": hosting.config_name,
        "image": hosting.image,
        "status": status,
        "deploy_wait_s": round(time.monotonic() - started, 1),
        "model_artifacts": artifacts,
    }


def dry_run_deploy(
    context: SageMakerContext, settings: SageMakerFinetuneSettings, job_name: str
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """The three requests a deploy would send, and the values in them that are placeholders.

    The job's artifacts come from DescribeTrainingJob when AWS answers; offline (or for a job
    AWS does not know) a placeholder location stands in, and is named.
    """
    placeholders: list[str] = []
    try:
        job = context.client("sagemaker").describe_training_job(TrainingJobName=job_name)
        artifacts = str(job["ModelArtifacts"]["S3ModelArtifacts"])
    except (ClientError, BotoCoreError, KeyError):
        artifacts = ARTIFACTS_PLACEHOLDER.format(job_name=job_name)
        placeholders.append(f"CreateModel.PrimaryContainer model data: {artifacts}")
    hosting = hosting_for(settings, context)
    name = settings.endpoint_name or job_name
    return deploy_requests(settings, hosting, name, artifacts), placeholders


def wait_for_endpoint(
    client: Any, name: str, poll_interval_s: float, report: Reporter, sleep: Sleeper = time.sleep
) -> str:
    last_status = None
    while True:
        description = client.describe_endpoint(EndpointName=name)
        status = str(description["EndpointStatus"])
        if status != last_status:
            report(f"endpoint {name}: {status}")
            last_status = status
        if status in TERMINAL_ENDPOINT_STATUSES:
            break
        sleep(poll_interval_s)
    if status != "InService":
        raise EndpointFailed(f"endpoint {name} {status}: {description.get('FailureReason', '')}")
    return status


def _missing(error: ClientError) -> bool:
    message = str(error.response.get("Error", {}).get("Message", ""))
    return error.response.get("Error", {}).get("Code") == "ValidationException" and (
        "Could not find" in message or "does not exist" in message
    )


def delete_endpoint(client: Any, endpoint_name: str, report: Reporter) -> list[str]:
    """Delete the endpoint, its config and its models; what is already gone is skipped."""
    deleted: list[str] = []
    config_name, model_names = endpoint_name, [endpoint_name]
    try:
        config_name = client.describe_endpoint(EndpointName=endpoint_name)["EndpointConfigName"]
        config = client.describe_endpoint_config(EndpointConfigName=config_name)
        model_names = [variant["ModelName"] for variant in config["ProductionVariants"]]
    except ClientError as error:
        if not _missing(error):
            raise
    steps = [
        ("endpoint", client.delete_endpoint, {"EndpointName": endpoint_name}),
        ("endpoint config", client.delete_endpoint_config, {"EndpointConfigName": config_name}),
        *[("model", client.delete_model, {"ModelName": model}) for model in model_names],
    ]
    for kind, call, arguments in steps:
        name = next(iter(arguments.values()))
        try:
            call(**arguments)
        except ClientError as error:
            if not _missing(error):
                raise
            report(f"{kind} {name} was already gone")
            continue
        report(f"deleted {kind} {name}")
        deleted.append(f"{kind}:{name}")
    return deleted
