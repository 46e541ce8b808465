"""JumpStart fine-tuning through the SageMaker SDK's ModelTrainer: build it, start it, wait."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from infra.finetune.sagemaker_session import (
    SageMakerContext,
    SageMakerSetupError,
    require,
    setup_failure,
)
from infra.finetune.settings import SageMakerFinetuneSettings

Reporter = Callable[[str], None]
Sleeper = Callable[[float], None]

TERMINAL_TRAINING_STATUSES = {"Completed", "Failed", "Stopped"}
# The SDK appends "-YYYYMMDDhhmmss-mmm" (19 characters) to a 63-character job name.
BASE_JOB_NAME_LIMIT = 63 - 19


class TrainingJobFailed(RuntimeError):
    """The training job ended in another state than Completed."""


def base_job_name(model_id: str) -> str:
    return f"fmt-{model_id.removeprefix('meta-textgeneration-')}"[:BASE_JOB_NAME_LIMIT]


def hyperparameters(settings: SageMakerFinetuneSettings) -> dict[str, str]:
    """JumpStart's transfer_learning.py hyper-parameters; the metadata's defaults fill the rest."""
    values = {
        "epoch": str(settings.epochs),
        "learning_rate": str(settings.learning_rate),
        "lora_r": str(settings.lora_r),
        "lora_alpha": str(settings.lora_alpha),
        "lora_dropout": str(settings.lora_dropout),
        "instruction_tuned": str(settings.method == "instruct"),
        "chat_dataset": "False",
        "enable_fsdp": "True",
        "int8_quantization": "False",
        "per_device_train_batch_size": str(settings.per_device_train_batch_size),
        "max_input_length": str(settings.max_input_length),
        "validation_split_ratio": str(settings.validation_split_ratio),
    }
    values.update(settings.extra_hyperparameters)
    return values


def training_channel(data_uri: str) -> Any:
    from sagemaker.train.configs import InputData

    return InputData(channel_name="training", data_source=data_uri)


def training_document(settings: SageMakerFinetuneSettings, context: SageMakerContext) -> Any:
    """The model's hub document, read as ModelTrainer.from_jumpstart_config reads it."""
    from sagemaker.core.jumpstart.configs import JumpStartConfig
    from sagemaker.core.jumpstart.document import get_hub_content_and_document

    config = JumpStartConfig(
        model_id=settings.model_id,
        model_version=settings.model_version,
        hub_name=settings.hub_name,
        accept_eula=settings.accept_eula,
    )
    _, document = get_hub_content_and_document(config, context.sagemaker_session)
    return document


def training_instance_type(settings: SageMakerFinetuneSettings, document: Any) -> str:
    """The setting, else the document's default; ModelTrainer checks it against the list."""
    chosen = settings.training_instance_type or document.DefaultTrainingInstanceType
    return require(chosen, "FMT_FINETUNE__SAGEMAKER__TRAINING_INSTANCE_TYPE")


def metric_definitions(document: Any) -> list[Any]:
    """The document's TrainingMetrics, which ModelTrainer (SDK v3) does not pass on by itself:
    without them CloudWatch gets no loss curves."""
    from sagemaker.train.configs import MetricDefinition

    return [
        MetricDefinition(name=metric.Name, regex=metric.Regex)
        for metric in document.TrainingMetrics or []
    ]


def jumpstart_trainer(
    settings: SageMakerFinetuneSettings, context: SageMakerContext, data_uri: str
) -> Any:
    """A ModelTrainer whose image, script, weights, channels and isolation come from JumpStart.

    The SDK reads the model's hub document (DescribeHubContent) and adds the `model` channel (the
    gated base weights, with the licence accepted) and the `code` channel (JumpStart's training
    scripts, mounted in the container since network isolation keeps it off S3).
    """
    # Imported here: the SDK takes seconds to import and only the SageMaker commands need it.
    from sagemaker.core.helper.iam_role_resolver import RoleValidationError
    from sagemaker.core.jumpstart.configs import JumpStartConfig
    from sagemaker.train import ModelTrainer
    from sagemaker.train.configs import Compute, OutputDataConfig, StoppingCondition, Tag

    if not settings.accept_eula:
        raise SageMakerSetupError(
            f"{settings.model_id} is gated: read Meta's licence, then set "
            "FMT_FINETUNE__SAGEMAKER__ACCEPT_EULA=true"
        )
    role = require(settings.role_arn, "FMT_FINETUNE__SAGEMAKER__ROLE_ARN")
    config = JumpStartConfig(
        model_id=settings.model_id,
        model_version=settings.model_version,
        hub_name=settings.hub_name,
        accept_eula=settings.accept_eula,
    )
    try:
        document = training_document(settings, context)
        trainer = ModelTrainer.from_jumpstart_config(
            jumpstart_config=config,
            compute=Compute(
                instance_type=training_instance_type(settings, document),
                instance_count=1,
                volume_size_in_gb=settings.volume_size_gb,
            ),
            stopping_condition=StoppingCondition(max_runtime_in_seconds=settings.max_runtime_s),
            output_data_config=OutputDataConfig(
                s3_output_path=f"s3://{context.bucket}/{settings.prefix}/output"
            ),
            input_data_config=[training_channel(data_uri)],
            hyperparameters=hyperparameters(settings),
            tags=[Tag(key="project", value="fm-tailor")],
            sagemaker_session=context.sagemaker_session,
            role=role,
            base_job_name=base_job_name(settings.model_id),
        )
    except (ValueError, ClientError, RoleValidationError) as error:
        if (explained := setup_failure(error, settings)) is None:
            raise
        raise explained from error
    definitions = metric_definitions(document)
    return trainer.with_metric_definitions(definitions) if definitions else trainer


def start_training(trainer: Any, data_uri: str) -> str:
    """Send CreateTrainingJob with the catalog as the `training` channel; returns the job name."""
    trainer.train(
        input_data_config=[training_channel(data_uri)],
        wait=False,
        logs=False,
    )
    return str(trainer._latest_training_job.training_job_name)


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
