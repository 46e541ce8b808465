"""The SageMaker pipeline's steps put together, each leaving a JSON record for the cost model."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.catalog import catalog_hash
from infra.finetune.sagemaker_data import training_data_uri, upload_training_data
from infra.finetune.sagemaker_dry_run import TrainingRequestCaptured
from infra.finetune.sagemaker_endpoint import delete_endpoint, deploy_job
from infra.finetune.sagemaker_session import SageMakerContext, SageMakerSetupError
from infra.finetune.sagemaker_training import (
    Reporter,
    Sleeper,
    job_record,
    jumpstart_trainer,
    start_training,
    wait_for_training,
)
from infra.finetune.settings import SageMakerFinetuneSettings


def record_path(settings: SageMakerFinetuneSettings, name: str) -> Path:
    return settings.manifests_dir / f"{name}.json"


def update_record(settings: SageMakerFinetuneSettings, name: str, **fields: Any) -> Path:
    """Merge fields into the job's JSON record (created on first use)."""
    path = record_path(settings, name)
    record = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    record.update(fields)
    record["updated_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2, default=str) + "\n", encoding="utf-8")
    return path


def prepare_training(
    context: SageMakerContext, settings: SageMakerFinetuneSettings, catalog: Path
) -> tuple[Any, str]:
    """The trainer, then the uploaded `training` channel; returns both."""
    data_uri = training_data_uri(settings, context.bucket, catalog)
    # Built before the upload so that a bad setting fails before anything is written to S3.
    trainer = jumpstart_trainer(settings, context, data_uri)
    upload_training_data(context.client("s3"), settings, context.bucket, catalog)
    return trainer, data_uri


def dry_run_training_request(
    context: SageMakerContext, settings: SageMakerFinetuneSettings, catalog: Path
) -> dict[str, Any]:
    """The CreateTrainingJob request the SDK would send, with nothing created on the way."""
    if context.dry_run is None:
        raise SageMakerSetupError("open the context with dry_run=True")
    trainer, data_uri = prepare_training(context, settings, catalog)
    try:
        start_training(trainer, data_uri)
    except TrainingRequestCaptured as captured:
        return captured.request
    raise SageMakerSetupError("the SDK returned without sending CreateTrainingJob")


def train_on_sagemaker(
    context: SageMakerContext,
    settings: SageMakerFinetuneSettings,
    catalog: Path,
    report: Reporter,
    wait: bool = True,
    sleep: Sleeper = time.sleep,
) -> str:
    """Upload the catalog, start the JumpStart job, by default wait for it; returns its name."""
    trainer, data_uri = prepare_training(context, settings, catalog)
    job_name = start_training(trainer, data_uri)
    instance_type = str(trainer.compute.instance_type)
    report(f"training job {job_name} started ({instance_type})")
    update_record(
        settings,
        job_name,
        job_name=job_name,
        model_id=settings.model_id,
        method=settings.method,
        region=context.region,
        jumpstart_metadata="bundled" if context.bundled_metadata else "live",
        catalog_sha256=catalog_hash(catalog),
        training_data=data_uri,
        hyperparameters=trainer.hyperparameters,
        instance_type=instance_type,
    )
    if wait:
        resume_training(context, settings, job_name, report, sleep)
    return job_name


def resume_training(
    context: SageMakerContext,
    settings: SageMakerFinetuneSettings,
    job_name: str,
    report: Reporter,
    sleep: Sleeper = time.sleep,
) -> dict[str, Any]:
    """Wait for a job started earlier (`--no-wait`, or an interrupted run) and record its end."""
    description = wait_for_training(
        context.client("sagemaker"), job_name, settings.poll_interval_s, report, sleep
    )
    record = job_record(description)
    update_record(settings, job_name, training=record)
    return record


def deploy_on_sagemaker(
    context: SageMakerContext,
    settings: SageMakerFinetuneSettings,
    job_name: str,
    report: Reporter,
    sleep: Sleeper = time.sleep,
) -> str:
    """Deploy a finished job's model to a real-time endpoint; returns the endpoint name."""
    endpoint = deploy_job(context, settings, job_name, report, sleep)
    update_record(settings, job_name, endpoint=endpoint)
    return str(endpoint["endpoint_name"])


def delete_on_sagemaker(
    context: SageMakerContext,
    settings: SageMakerFinetuneSettings,
    endpoint_name: str,
    report: Reporter,
) -> list[str]:
    """Delete the endpoint and everything it holds; noted in the job's record when there is one."""
    deleted = delete_endpoint(context.client("sagemaker"), endpoint_name, report)
    if record_path(settings, endpoint_name).is_file():
        update_record(
            settings, endpoint_name, deleted=deleted, deleted_at=datetime.now(UTC).isoformat()
        )
    return deleted
