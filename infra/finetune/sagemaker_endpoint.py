"""The fine-tuned model on a SageMaker real-time endpoint, configured from JumpStart's metadata."""

from __future__ import annotations

import time
from typing import Any

from botocore.exceptions import ClientError

from infra.finetune.sagemaker_session import (
    SageMakerContext,
    SageMakerSetupError,
    require,
    setup_failure,
)
from infra.finetune.sagemaker_training import Reporter, Sleeper
from infra.finetune.settings import SageMakerFinetuneSettings

TERMINAL_ENDPOINT_STATUSES = {"InService", "Failed", "OutOfService"}
# Loading 16 GB of weights onto four GPUs takes a while; SageMaker's default is too short.
STARTUP_TIMEOUT_S = 3600
PROJECT_TAG = {"Key": "project", "Value": "fm-tailor"}


class EndpointFailed(RuntimeError):
    """The endpoint did not come into service."""


def hosting_document(settings: SageMakerFinetuneSettings, context: SageMakerContext) -> Any:
    """The model's JumpStart metadata, read by the SDK the way ModelTrainer reads it."""
    from sagemaker.core.helper.iam_role_resolver import RoleValidationError
    from sagemaker.core.jumpstart.configs import JumpStartConfig
    from sagemaker.core.jumpstart.document import get_hub_content_and_document

    config = JumpStartConfig(
        model_id=settings.model_id,
        model_version=settings.model_version,
        hub_name=settings.hub_name,
        accept_eula=settings.accept_eula,
    )
    try:
        _, document = get_hub_content_and_document(config, context.sagemaker_session)
    except (ValueError, ClientError, RoleValidationError) as error:
        if (explained := setup_failure(error, settings)) is None:
            raise
        raise explained from error
    return document


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


def hosting_environment(document: Any, settings: SageMakerFinetuneSettings) -> dict[str, str]:
    environment = {
        str(variable.Name): str(variable.Default)
        for variable in document.InferenceEnvironmentVariables or []
        if variable.Scope == "container" and variable.Default is not None
    }
    environment.update(settings.inference_environment)
    return environment


def model_request(
    settings: SageMakerFinetuneSettings, document: Any, name: str, artifacts: str
) -> dict[str, Any]:
    if not settings.accept_eula and document.GatedBucket:
        raise SageMakerSetupError(
            f"{settings.model_id} is gated: set FMT_FINETUNE__SAGEMAKER__ACCEPT_EULA=true"
        )
    if not document.HostingEcrUri:
        raise SageMakerSetupError(f"JumpStart metadata of {settings.model_id} names no image")
    return {
        "ModelName": name,
        "ExecutionRoleArn": require(settings.role_arn, "FMT_FINETUNE__SAGEMAKER__ROLE_ARN"),
        "PrimaryContainer": {
            "Image": document.HostingEcrUri,
            "Environment": hosting_environment(document, settings),
            **model_data(artifacts, bool(document.GatedBucket)),
        },
        "EnableNetworkIsolation": bool(document.InferenceEnableNetworkIsolation),
        "Tags": [PROJECT_TAG],
    }


def endpoint_config_request(
    settings: SageMakerFinetuneSettings, document: Any, name: str
) -> dict[str, Any]:
    supported = document.SupportedInferenceInstanceTypes or []
    if supported and settings.endpoint_instance_type not in supported:
        raise SageMakerSetupError(
            f"FMT_FINETUNE__SAGEMAKER__ENDPOINT_INSTANCE_TYPE={settings.endpoint_instance_type} "
            f"cannot serve {settings.model_id}; JumpStart supports {', '.join(supported)}"
        )
    return {
        "EndpointConfigName": name,
        "ProductionVariants": [
            {
                "VariantName": "AllTraffic",
                "ModelName": name,
                "InstanceType": settings.endpoint_instance_type,
                "InitialInstanceCount": 1,
                "ModelDataDownloadTimeoutInSeconds": document.ModelDataDownloadTimeout
                or STARTUP_TIMEOUT_S,
                "ContainerStartupHealthCheckTimeoutInSeconds": (
                    document.ContainerStartupHealthCheckTimeout or STARTUP_TIMEOUT_S
                ),
            }
        ],
        "Tags": [PROJECT_TAG],
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
    document = hosting_document(settings, context)
    name = settings.endpoint_name or job_name
    # Both requests are built first, so that a bad setting fails before anything is created.
    model = model_request(settings, document, name, artifacts)
    endpoint_config = endpoint_config_request(settings, document, name)
    client.create_model(**model)
    client.create_endpoint_config(**endpoint_config)
    client.create_endpoint(EndpointName=name, EndpointConfigName=name, Tags=[PROJECT_TAG])
    report(f"endpoint {name} is being created (10 to 30 minutes)")
    started = time.monotonic()
    status = wait_for_endpoint(client, name, settings.poll_interval_s, report, sleep)
    return {
        "endpoint_name": name,
        "model_name": name,
        "endpoint_config_name": name,
        "instance_type": settings.endpoint_instance_type,
        "image": model["PrimaryContainer"]["Image"],
        "status": status,
        "deploy_wait_s": round(time.monotonic() - started, 1),
        "model_artifacts": artifacts,
    }


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
