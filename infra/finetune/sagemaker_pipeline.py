"""The SageMaker pipeline's steps put together, each leaving a JSON record for the cost model."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.catalog import catalog_hash
from infra.finetune.sagemaker_endpoint import delete_endpoint, deploy_job
from infra.finetune.sagemaker_training import (
    Reporter,
    Sleeper,
    job_record,
    new_job_name,
    training_job_request,
    upload_training_data,
    wait_for_training,
)
from infra.finetune.settings import SageMakerFinetuneSettings


@dataclass(frozen=True, slots=True)
class AwsClients:
    sagemaker: Any
    s3: Any
    region: str


def aws_clients(settings: SageMakerFinetuneSettings) -> AwsClients:
    """boto3 clients in the configured region (or the profile's)."""
    import boto3

    session = boto3.session.Session(region_name=settings.region)
    if session.region_name is None:
        raise ValueError("set FMT_FINETUNE__SAGEMAKER__REGION or AWS_REGION")
    return AwsClients(session.client("sagemaker"), session.client("s3"), session.region_name)


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


def train_on_sagemaker(
    clients: AwsClients,
    settings: SageMakerFinetuneSettings,
    catalog: Path,
    report: Reporter,
    wait: bool = True,
    sleep: Sleeper = time.sleep,
) -> str:
    """Upload the catalog, start the JumpStart job, by default wait for it; returns its name."""
    job_name = new_job_name(settings.model_id)
    # Built before the upload so that a missing setting fails before anything is written to S3.
    request = training_job_request(settings, job_name, "s3://placeholder/", clients.region)
    data_uri = upload_training_data(clients.s3, settings, catalog)
    request["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] = data_uri
    clients.sagemaker.create_training_job(**request)
    report(f"training job {job_name} started ({settings.training_instance_type})")
    update_record(
        settings,
        job_name,
        job_name=job_name,
        model_id=settings.model_id,
        region=clients.region,
        catalog_sha256=catalog_hash(catalog),
        training_data=data_uri,
        hyperparameters=request["HyperParameters"],
        instance_type=settings.training_instance_type,
    )
    if wait:
        description = wait_for_training(
            clients.sagemaker, job_name, settings.poll_interval_s, report, sleep
        )
        update_record(settings, job_name, training=job_record(description))
    return job_name


def deploy_on_sagemaker(
    clients: AwsClients,
    settings: SageMakerFinetuneSettings,
    job_name: str,
    report: Reporter,
    sleep: Sleeper = time.sleep,
) -> str:
    """Deploy a finished job's model to a real-time endpoint; returns the endpoint name."""
    endpoint = deploy_job(clients.sagemaker, settings, job_name, clients.region, report, sleep)
    update_record(settings, job_name, endpoint=endpoint)
    return str(endpoint["endpoint_name"])


def delete_on_sagemaker(
    clients: AwsClients, settings: SageMakerFinetuneSettings, endpoint_name: str, report: Reporter
) -> list[str]:
    """Delete the endpoint and everything it holds; noted in the job's record when there is one."""
    deleted = delete_endpoint(clients.sagemaker, endpoint_name, report)
    if record_path(settings, endpoint_name).is_file():
        update_record(
            settings, endpoint_name, deleted=deleted, deleted_at=datetime.now(UTC).isoformat()
        )
    return deleted
