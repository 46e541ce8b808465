"""The fine-tuned model on a SageMaker real-time endpoint: deploy from a job, and delete it all."""

from __future__ import annotations

import time
from typing import Any

from botocore.exceptions import ClientError

from infra.finetune.sagemaker_training import Reporter, Sleeper, require
from infra.finetune.settings import SageMakerFinetuneSettings

TERMINAL_ENDPOINT_STATUSES = {"InService", "Failed", "OutOfService"}
# Loading 16 GB of weights onto four GPUs takes a while; SageMaker's default is too short.
STARTUP_TIMEOUT_S = 3600


class EndpointFailed(RuntimeError):
    """The endpoint did not come into service."""


def model_data(artifacts: str) -> dict[str, Any]:
    """CreateModel arguments for the job's artifacts: a tarball, or an uncompressed S3 prefix."""
    if artifacts.endswith(".tar.gz"):
        return {"ModelDataUrl": artifacts}
    return {
        "ModelDataSource": {
            "S3DataSource": {
                "S3Uri": artifacts.rstrip("/") + "/",
                "S3DataType": "S3Prefix",
                "CompressionType": "None",
                "ModelAccessConfig": {"AcceptEula": True},
            }
        }
    }


def model_request(
    settings: SageMakerFinetuneSettings, name: str, artifacts: str, region: str
) -> dict[str, Any]:
    return {
        "ModelName": name,
        "ExecutionRoleArn": require(settings.role_arn, "FMT_FINETUNE__SAGEMAKER__ROLE_ARN"),
        "PrimaryContainer": {
            "Image": settings.inference_image_uri.format(region=region),
            "Environment": dict(settings.inference_environment),
            **model_data(artifacts),
        },
        "EnableNetworkIsolation": True,
        "Tags": [{"Key": "project", "Value": "fm-tailor"}],
    }


def endpoint_config_request(settings: SageMakerFinetuneSettings, name: str) -> dict[str, Any]:
    return {
        "EndpointConfigName": name,
        "ProductionVariants": [
            {
                "VariantName": "AllTraffic",
                "ModelName": name,
                "InstanceType": settings.endpoint_instance_type,
                "InitialInstanceCount": 1,
                "ModelDataDownloadTimeoutInSeconds": STARTUP_TIMEOUT_S,
                "ContainerStartupHealthCheckTimeoutInSeconds": STARTUP_TIMEOUT_S,
            }
        ],
        "Tags": [{"Key": "project", "Value": "fm-tailor"}],
    }


def deploy_job(
    client: Any,
    settings: SageMakerFinetuneSettings,
    job_name: str,
    region: str,
    report: Reporter,
    sleep: Sleeper = time.sleep,
) -> dict[str, Any]:
    """Model, endpoint config and endpoint (one name for all three) from a finished job."""
    job = client.describe_training_job(TrainingJobName=job_name)
    if job["TrainingJobStatus"] != "Completed":
        raise EndpointFailed(f"{job_name} is {job['TrainingJobStatus']}, not Completed")
    artifacts = job["ModelArtifacts"]["S3ModelArtifacts"]
    name = settings.endpoint_name or job_name
    client.create_model(**model_request(settings, name, artifacts, region))
    client.create_endpoint_config(**endpoint_config_request(settings, name))
    client.create_endpoint(
        EndpointName=name, EndpointConfigName=name, Tags=[{"Key": "project", "Value": "fm-tailor"}]
    )
    report(f"endpoint {name} is being created (10 to 30 minutes)")
    started = time.monotonic()
    status = wait_for_endpoint(client, name, settings.poll_interval_s, report, sleep)
    return {
        "endpoint_name": name,
        "model_name": name,
        "endpoint_config_name": name,
        "instance_type": settings.endpoint_instance_type,
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
