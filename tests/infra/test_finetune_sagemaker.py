"""SageMaker pipeline against stubbed AWS: every request is checked against the service models."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from infra.finetune import sagemaker_pipeline as pipeline
from infra.finetune.__main__ import main
from infra.finetune.sagemaker_endpoint import EndpointFailed
from infra.finetune.sagemaker_training import (
    SageMakerSetupError,
    TrainingJobFailed,
    catalog_training_text,
)
from infra.finetune.settings import SageMakerFinetuneSettings

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/SageMakerExecution"
JOB = "fmt-llama-3-1-8b-instruct-20260101-120000"
ARTIFACTS = f"s3://tailor-bucket/fm-tailor/finetune/output/{JOB}/output/model"


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    path = tmp_path / "catalog.txt"
    path.write_text(
        "=== PRODUCT: Kestrel KX-420 ===\n--- Description ---\nRated force 420 kN.\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def settings(tmp_path: Path) -> SageMakerFinetuneSettings:
    return SageMakerFinetuneSettings(
        region=REGION,
        role_arn=ROLE,
        bucket="tailor-bucket",
        accept_eula=True,
        poll_interval_s=0.01,
        manifests_dir=tmp_path / "records",
    )


@pytest.fixture
def clients() -> Iterator[tuple[pipeline.AwsClients, Stubber, Stubber]]:
    sagemaker = boto3.client(
        "sagemaker", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"
    )
    s3 = boto3.client("s3", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(sagemaker) as sagemaker_stub, Stubber(s3) as s3_stub:
        yield pipeline.AwsClients(sagemaker, s3, REGION), sagemaker_stub, s3_stub
        sagemaker_stub.assert_no_pending_responses()
        s3_stub.assert_no_pending_responses()


def job_description(status: str, secondary: str, **extra: Any) -> dict[str, Any]:
    return {
        "TrainingJobName": JOB,
        "TrainingJobArn": f"arn:aws:sagemaker:{REGION}:123456789012:training-job/{JOB}",
        "TrainingJobStatus": status,
        "SecondaryStatus": secondary,
        "AlgorithmSpecification": {"TrainingInputMode": "File", "TrainingImage": "image"},
        "ModelArtifacts": {"S3ModelArtifacts": ARTIFACTS},
        "ResourceConfig": {
            "InstanceType": "ml.g5.12xlarge",
            "InstanceCount": 1,
            "VolumeSizeInGB": 512,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 360000},
        "CreationTime": datetime(2026, 1, 1, 12, 0, tzinfo=UTC),
        **extra,
    }


def stub_training(sagemaker_stub: Stubber, s3_stub: Stubber, final: str = "Completed") -> None:
    s3_stub.add_response(
        "put_object",
        {},
        {
            "Bucket": "tailor-bucket",
            "Key": ANY,
            "Body": ANY,
            "ContentType": "text/plain",
        },
    )
    sagemaker_stub.add_response(
        "create_training_job", {"TrainingJobArn": "arn:aws:sagemaker:::training-job/x"}, None
    )
    sagemaker_stub.add_response(
        "describe_training_job", job_description("InProgress", "Downloading")
    )
    sagemaker_stub.add_response("describe_training_job", job_description("InProgress", "Training"))
    sagemaker_stub.add_response(
        "describe_training_job",
        job_description(
            final,
            "Completed" if final == "Completed" else "Failed",
            TrainingTimeInSeconds=2712,
            BillableTimeInSeconds=2712,
            TrainingStartTime=datetime(2026, 1, 1, 12, 5, tzinfo=UTC),
            TrainingEndTime=datetime(2026, 1, 1, 12, 50, tzinfo=UTC),
            **({"FailureReason": "CUDA out of memory"} if final != "Completed" else {}),
        ),
    )


@pytest.fixture(autouse=True)
def fixed_job_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "new_job_name", lambda model_id: JOB)


def test_training_job_runs_jumpstart_domain_adaptation_and_records_its_time(
    clients: tuple[pipeline.AwsClients, Stubber, Stubber],
    settings: SageMakerFinetuneSettings,
    catalog: Path,
) -> None:
    aws, sagemaker_stub, s3_stub = clients
    stub_training(sagemaker_stub, s3_stub)
    messages: list[str] = []
    sent: list[dict[str, Any]] = []
    aws.sagemaker.meta.events.register(
        "provide-client-params.sagemaker.CreateTrainingJob",
        lambda params, **kwargs: sent.append(params),
    )

    job = pipeline.train_on_sagemaker(aws, settings, catalog, messages.append, sleep=lambda s: None)

    assert job == JOB
    request = sent[0]
    assert request["HyperParameters"]["epoch"] == "5"
    assert request["HyperParameters"]["instruction_tuned"] == "False"
    assert request["HyperParameters"]["sagemaker_program"] == "transfer_learning.py"
    assert request["ResourceConfig"]["InstanceType"] == "ml.g5.12xlarge"
    assert request["Environment"]["accept_eula"] == "true"
    assert request["Environment"]["SageMakerGatedModelS3Uri"].endswith(
        "train-meta-textgeneration-llama-3-1-8b-instruct.tar.gz"
    )
    data_uri = request["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"]
    assert data_uri.startswith("s3://tailor-bucket/fm-tailor/finetune/data/")
    assert messages[-1].endswith("Completed / Completed")
    record = json.loads((settings.manifests_dir / f"{JOB}.json").read_text())
    assert record["training"]["training_time_s"] == 2712
    assert record["training"]["instance_type"] == "ml.g5.12xlarge"
    assert record["training_data"] == data_uri


def test_a_failed_job_is_reported_with_its_reason(
    clients: tuple[pipeline.AwsClients, Stubber, Stubber],
    settings: SageMakerFinetuneSettings,
    catalog: Path,
) -> None:
    aws, sagemaker_stub, s3_stub = clients
    stub_training(sagemaker_stub, s3_stub, final="Failed")
    with pytest.raises(TrainingJobFailed, match="CUDA out of memory"):
        pipeline.train_on_sagemaker(aws, settings, catalog, lambda m: None, sleep=lambda s: None)


def test_nothing_is_uploaded_or_started_before_the_licence_is_accepted(
    clients: tuple[pipeline.AwsClients, Stubber, Stubber],
    settings: SageMakerFinetuneSettings,
    catalog: Path,
) -> None:
    aws, _, _ = clients
    settings.accept_eula = False
    with pytest.raises(SageMakerSetupError, match="ACCEPT_EULA"):
        pipeline.train_on_sagemaker(aws, settings, catalog, lambda m: None)


def test_training_text_keeps_product_and_section(catalog: Path) -> None:
    assert catalog_training_text(catalog) == "Kestrel KX-420 - Description\nRated force 420 kN.\n"


def stub_deploy(sagemaker_stub: Stubber, artifacts: str = ARTIFACTS) -> None:
    sagemaker_stub.add_response(
        "describe_training_job",
        job_description("Completed", "Completed", ModelArtifacts={"S3ModelArtifacts": artifacts}),
        {"TrainingJobName": JOB},
    )
    sagemaker_stub.add_response("create_model", {"ModelArn": "arn:aws:sagemaker:::model/x"})
    sagemaker_stub.add_response(
        "create_endpoint_config", {"EndpointConfigArn": "arn:aws:sagemaker:::endpoint-config/x"}
    )
    sagemaker_stub.add_response(
        "create_endpoint", {"EndpointArn": "arn:aws:sagemaker:::endpoint/x"}
    )
    for status in ("Creating", "Creating", "InService"):
        sagemaker_stub.add_response(
            "describe_endpoint",
            {
                "EndpointName": JOB,
                "EndpointArn": "arn:aws:sagemaker:::endpoint/x",
                "EndpointConfigName": JOB,
                "EndpointStatus": status,
                "CreationTime": datetime(2026, 1, 1, tzinfo=UTC),
                "LastModifiedTime": datetime(2026, 1, 1, tzinfo=UTC),
            },
            {"EndpointName": JOB},
        )


def capture(aws: pipeline.AwsClients, operation: str) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []
    aws.sagemaker.meta.events.register(
        f"provide-client-params.sagemaker.{operation}", lambda params, **kwargs: sent.append(params)
    )
    return sent


def test_deploy_by_job_name_creates_an_endpoint_on_the_uncompressed_model(
    clients: tuple[pipeline.AwsClients, Stubber, Stubber], settings: SageMakerFinetuneSettings
) -> None:
    aws, sagemaker_stub, _ = clients
    stub_deploy(sagemaker_stub)
    models = capture(aws, "CreateModel")
    endpoint = pipeline.deploy_on_sagemaker(
        aws, settings, JOB, lambda m: None, sleep=lambda s: None
    )
    assert endpoint == JOB
    source = models[0]["PrimaryContainer"]["ModelDataSource"]["S3DataSource"]
    assert source["S3Uri"] == ARTIFACTS + "/"
    assert source["CompressionType"] == "None"
    record = json.loads((settings.manifests_dir / f"{JOB}.json").read_text())
    assert record["endpoint"]["endpoint_name"] == JOB


def test_deploy_of_a_tarball_model_uses_the_model_url(
    clients: tuple[pipeline.AwsClients, Stubber, Stubber], settings: SageMakerFinetuneSettings
) -> None:
    aws, sagemaker_stub, _ = clients
    stub_deploy(sagemaker_stub, artifacts="s3://tailor-bucket/out/model.tar.gz")
    models = capture(aws, "CreateModel")
    pipeline.deploy_on_sagemaker(aws, settings, JOB, lambda m: None, sleep=lambda s: None)
    assert models[0]["PrimaryContainer"]["ModelDataUrl"] == "s3://tailor-bucket/out/model.tar.gz"


def test_deploy_refuses_an_unfinished_job(
    clients: tuple[pipeline.AwsClients, Stubber, Stubber], settings: SageMakerFinetuneSettings
) -> None:
    aws, sagemaker_stub, _ = clients
    sagemaker_stub.add_response("describe_training_job", job_description("InProgress", "Training"))
    with pytest.raises(EndpointFailed, match="InProgress"):
        pipeline.deploy_on_sagemaker(aws, settings, JOB, lambda m: None)


def test_delete_removes_endpoint_config_and_model(
    clients: tuple[pipeline.AwsClients, Stubber, Stubber], settings: SageMakerFinetuneSettings
) -> None:
    aws, sagemaker_stub, _ = clients
    sagemaker_stub.add_response(
        "describe_endpoint",
        {
            "EndpointName": "ep",
            "EndpointArn": "arn:aws:sagemaker:::endpoint/ep",
            "EndpointConfigName": "ep-config",
            "EndpointStatus": "InService",
            "CreationTime": datetime(2026, 1, 1, tzinfo=UTC),
            "LastModifiedTime": datetime(2026, 1, 1, tzinfo=UTC),
        },
        {"EndpointName": "ep"},
    )
    sagemaker_stub.add_response(
        "describe_endpoint_config",
        {
            "EndpointConfigName": "ep-config",
            "EndpointConfigArn": "arn:aws:sagemaker:::endpoint-config/ep-config",
            "ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": "ep-model"}],
            "CreationTime": datetime(2026, 1, 1, tzinfo=UTC),
        },
        {"EndpointConfigName": "ep-config"},
    )
    sagemaker_stub.add_response("delete_endpoint", {}, {"EndpointName": "ep"})
    sagemaker_stub.add_response("delete_endpoint_config", {}, {"EndpointConfigName": "ep-config"})
    sagemaker_stub.add_response("delete_model", {}, {"ModelName": "ep-model"})
    deleted = pipeline.delete_on_sagemaker(aws, settings, "ep", lambda m: None)
    assert deleted == ["endpoint:ep", "endpoint config:ep-config", "model:ep-model"]


def test_delete_twice_skips_what_is_already_gone(
    clients: tuple[pipeline.AwsClients, Stubber, Stubber], settings: SageMakerFinetuneSettings
) -> None:
    aws, sagemaker_stub, _ = clients
    gone = "Could not find endpoint"
    sagemaker_stub.add_client_error("describe_endpoint", "ValidationException", gone)
    sagemaker_stub.add_client_error("delete_endpoint", "ValidationException", gone)
    sagemaker_stub.add_client_error("delete_endpoint_config", "ValidationException", gone)
    sagemaker_stub.add_client_error("delete_model", "ValidationException", gone)
    messages: list[str] = []
    assert pipeline.delete_on_sagemaker(aws, settings, "ep", messages.append) == []
    assert messages[0] == "endpoint ep was already gone"


def test_cli_train_and_deploy_prints_the_service_setting(
    clients: tuple[pipeline.AwsClients, Stubber, Stubber],
    catalog: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    aws, sagemaker_stub, s3_stub = clients
    stub_training(sagemaker_stub, s3_stub)
    stub_deploy(sagemaker_stub)
    monkeypatch.setattr(pipeline, "aws_clients", lambda settings: aws)
    for name, value in {
        "FMT_CATALOG": str(catalog),
        "FMT_FINETUNE__SAGEMAKER__ROLE_ARN": ROLE,
        "FMT_FINETUNE__SAGEMAKER__BUCKET": "tailor-bucket",
        "FMT_FINETUNE__SAGEMAKER__ACCEPT_EULA": "true",
        "FMT_FINETUNE__SAGEMAKER__POLL_INTERVAL_S": "0.01",
        "FMT_FINETUNE__SAGEMAKER__MANIFESTS_DIR": str(tmp_path / "records"),
    }.items():
        monkeypatch.setenv(name, value)
    assert main(["sagemaker-train", "--deploy"]) == 0
    assert f"FMT_SAGEMAKER__ENDPOINT_NAME={JOB}" in capsys.readouterr().out
