"""SageMaker JumpStart fine-tuning with plain boto3: upload the catalog, start the job, wait."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.catalog import catalog_hash, read_sections
from infra.finetune.settings import SageMakerFinetuneSettings

Reporter = Callable[[str], None]
Sleeper = Callable[[float], None]

TERMINAL_TRAINING_STATUSES = {"Completed", "Failed", "Stopped"}
JOB_NAME_LIMIT = 63


class SageMakerSetupError(ValueError):
    """A setting the SageMaker pipeline needs is missing."""


class TrainingJobFailed(RuntimeError):
    """The training job ended in another state than Completed."""


def require(value: str | None, variable: str) -> str:
    if not value:
        raise SageMakerSetupError(f"set {variable}")
    return value


def catalog_training_text(catalog: Path) -> str:
    """The catalog as the plain text JumpStart domain adaptation reads: one section a paragraph."""
    blocks = []
    for section in read_sections(catalog):
        heading = f"{section.product} - {section.title}" if section.title else section.product
        blocks.append(f"{heading}\n{section.text}")
    return "\n\n".join(blocks) + "\n"


def upload_training_data(s3: Any, settings: SageMakerFinetuneSettings, catalog: Path) -> str:
    """Upload the training text under the catalog hash; returns the channel's S3 prefix."""
    bucket = require(settings.bucket, "FMT_FINETUNE__SAGEMAKER__BUCKET")
    key_prefix = f"{settings.prefix}/data/{catalog_hash(catalog)[:16]}"
    s3.put_object(
        Bucket=bucket,
        Key=f"{key_prefix}/train.txt",
        Body=catalog_training_text(catalog).encode("utf-8"),
        ContentType="text/plain",
    )
    return f"s3://{bucket}/{key_prefix}/"


def new_job_name(model_id: str, now: datetime | None = None) -> str:
    """A unique, valid training job name (63 characters at most)."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    stem = model_id.removeprefix("meta-textgeneration-")[: JOB_NAME_LIMIT - len(stamp) - 5]
    return f"fmt-{stem}-{stamp}"


def hyperparameters(settings: SageMakerFinetuneSettings, region: str) -> dict[str, str]:
    """JumpStart's transfer_learning.py hyper-parameters for domain adaptation, as strings."""
    values = {
        "epoch": str(settings.epochs),
        "learning_rate": str(settings.learning_rate),
        "lora_r": str(settings.lora_r),
        "lora_alpha": str(settings.lora_alpha),
        "lora_dropout": str(settings.lora_dropout),
        "instruction_tuned": "False",
        "chat_dataset": "False",
        "enable_fsdp": "True",
        "int8_quantization": "False",
        "per_device_train_batch_size": str(settings.per_device_train_batch_size),
        "max_input_length": str(settings.max_input_length),
        "validation_split_ratio": str(settings.validation_split_ratio),
        "sagemaker_program": "transfer_learning.py",
        "sagemaker_submit_directory": settings.training_script_uri.format(region=region),
        "sagemaker_region": region,
        "sagemaker_container_log_level": "20",
    }
    values.update(settings.extra_hyperparameters)
    return values


def training_job_request(
    settings: SageMakerFinetuneSettings, job_name: str, data_uri: str, region: str
) -> dict[str, Any]:
    """The CreateTrainingJob request (the SDK's JumpStartEstimator sends the same shape)."""
    if not settings.accept_eula:
        raise SageMakerSetupError(
            f"{settings.model_id} is gated: read Meta's licence, then set "
            "FMT_FINETUNE__SAGEMAKER__ACCEPT_EULA=true"
        )
    bucket = require(settings.bucket, "FMT_FINETUNE__SAGEMAKER__BUCKET")
    return {
        "TrainingJobName": job_name,
        "RoleArn": require(settings.role_arn, "FMT_FINETUNE__SAGEMAKER__ROLE_ARN"),
        "AlgorithmSpecification": {
            "TrainingImage": settings.training_image_uri.format(region=region),
            "TrainingInputMode": "File",
        },
        "HyperParameters": hyperparameters(settings, region),
        "InputDataConfig": [
            {
                "ChannelName": "training",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": data_uri,
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
            }
        ],
        # Uncompressed output lets the endpoint load the weights without unpacking 16 GB.
        "OutputDataConfig": {
            "S3OutputPath": f"s3://{bucket}/{settings.prefix}/output",
            "CompressionType": "NONE",
        },
        "ResourceConfig": {
            "InstanceType": settings.training_instance_type,
            "InstanceCount": 1,
            "VolumeSizeInGB": settings.volume_size_gb,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": settings.max_runtime_s},
        "EnableNetworkIsolation": True,
        "EnableInterContainerTrafficEncryption": True,
        "Environment": {
            "accept_eula": "true",
            "SageMakerGatedModelS3Uri": settings.base_model_uri.format(
                region=region, model_id=settings.model_id
            ),
        },
        "Tags": [
            {"Key": "sagemaker-sdk:jumpstart-model-id", "Value": settings.model_id},
            {"Key": "project", "Value": "fm-tailor"},
        ],
    }


def wait_for_training(
    client: Any,
    job_name: str,
    poll_interval_s: float,
    report: Reporter,
    sleep: Sleeper = time.sleep,
) -> dict[str, Any]:
    """Poll DescribeTrainingJob, reporting each status change, until the job ends."""
    last_status = None
    while True:
        description: dict[str, Any] = client.describe_training_job(TrainingJobName=job_name)
        status = (description["TrainingJobStatus"], description.get("SecondaryStatus"))
        if status != last_status:
            report(f"{job_name}: {status[0]} / {status[1]}")
            last_status = status
        if description["TrainingJobStatus"] in TERMINAL_TRAINING_STATUSES:
            break
        sleep(poll_interval_s)
    if description["TrainingJobStatus"] != "Completed":
        reason = description.get("FailureReason", "no reason given")
        raise TrainingJobFailed(f"{job_name} {description['TrainingJobStatus']}: {reason}")
    return description


def job_record(description: dict[str, Any]) -> dict[str, Any]:
    """What the cost model and the deploy step need from a finished job."""
    resources = description.get("ResourceConfig", {})
    return {
        "job_name": description["TrainingJobName"],
        "status": description["TrainingJobStatus"],
        "instance_type": resources.get("InstanceType"),
        "instance_count": resources.get("InstanceCount"),
        "training_time_s": description.get("TrainingTimeInSeconds"),
        "billable_time_s": description.get("BillableTimeInSeconds"),
        "model_artifacts": description.get("ModelArtifacts", {}).get("S3ModelArtifacts"),
        "hyperparameters": description.get("HyperParameters", {}),
        "started": _iso(description.get("TrainingStartTime")),
        "ended": _iso(description.get("TrainingEndTime")),
    }


def _iso(value: object) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else None
