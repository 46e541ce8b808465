"""The SageMaker pipeline through the SageMaker SDK, against moto: what AWS would do with it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import boto3
import pytest
from botocore.stub import Stubber
from moto.sagemakerruntime.models import sagemakerruntime_backends

from app.core.types import ChatMessage
from app.generators.base import GenerationParams
from app.generators.sagemaker import build_sagemaker_generator
from app.settings import SageMakerSettings, Settings
from infra.finetune import sagemaker_pipeline as pipeline
from infra.finetune.__main__ import main
from infra.finetune.jumpstart_metadata import bundled_hub_content
from infra.finetune.sagemaker_endpoint import EndpointFailed
from infra.finetune.sagemaker_session import SageMakerContext, SageMakerSetupError, open_context
from infra.finetune.sagemaker_training import TrainingJobFailed
from infra.finetune.settings import SageMakerFinetuneSettings
from tests.infra.sagemaker_aws import (
    ACCOUNT,
    BUCKET,
    REGION,
    ROLE,
    SAGEMAKER_TRUST,
    bucket_keys,
    channels,
    moto_account,
    offline,
)

MODEL = "meta-textgeneration-llama-3-1-8b-instruct"
# The SDK's public HubContentDocument fixture (tests/infra/fixtures/README.md): what the hub
# answers in these tests, so that no assertion reads a value we wrote.
SDK_DOCUMENT = Path(__file__).parent / "fixtures" / "sdk-hub_content_document.json"
# Where SageMaker mounts a channel named `code` inside the training container.
CODE_MOUNT = "/opt/ml/input/data/code"


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    path = tmp_path / "catalog.txt"
    path.write_text(
        "=== PRODUCT: Kestrel KX-420 ===\n--- Description ---\nRated force 420 kN.\n"
        "It weighs 1200 kg.\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def settings(tmp_path: Path) -> SageMakerFinetuneSettings:
    return SageMakerFinetuneSettings(
        region=REGION,
        role_arn=ROLE,
        bucket=BUCKET,
        accept_eula=True,
        metadata="bundled",  # moto has no DescribeHubContent
        hub_document=SDK_DOCUMENT,
        poll_interval_s=0.01,
        manifests_dir=tmp_path / "records",
    )


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[boto3.session.Session]:
    with moto_account(monkeypatch) as session:
        yield session


def hub_document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(SDK_DOCUMENT.read_text())
    return document


def bundled_document(region: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(bundled_hub_content(MODEL, region)["HubContentDocument"])
    return document


def training_request(
    session: boto3.session.Session, settings: SageMakerFinetuneSettings, catalog: Path
) -> tuple[dict[str, Any], dict[str, bytes]]:
    context = open_context(settings, dry_run=True, boto_session=session)
    request = pipeline.dry_run_training_request(context, settings, catalog)
    assert context.dry_run is not None
    return request, context.dry_run.uploads


def test_isolated_training_gets_jumpstart_scripts_through_the_code_channel(
    aws: boto3.session.Session, settings: SageMakerFinetuneSettings, catalog: Path
) -> None:
    request, uploads = training_request(aws, settings, catalog)
    document = hub_document()

    # Isolation keeps the container off S3: the scripts must arrive as a channel.
    assert request["EnableNetworkIsolation"] is True
    code = channels(request)["code"]["DataSource"]["S3DataSource"]
    assert code["S3Uri"] == document["TrainingScriptUri"]
    assert code["S3Uri"].endswith("/sourcedir.tar.gz")
    assert not any(value.startswith("s3://") for value in request["HyperParameters"].values()), (
        "no S3 path may be left for the isolated container to fetch"
    )
    # The job's driver, uploaded by the SDK, unpacks the tarball where the code channel lands:
    # JumpStart's own submit directory for this model.
    driver = next(body for uri, body in uploads.items() if uri.endswith("/sm_train.sh")).decode()
    submit_directory = next(
        item["Default"]
        for item in document["Hyperparameters"]
        if item["Name"] == "sagemaker_submit_directory"
    )
    assert submit_directory == f"{CODE_MOUNT}/sourcedir.tar.gz"
    assert f"cd {CODE_MOUNT}" in driver
    assert "tar -xzf sourcedir.tar.gz" in driver
    assert "transfer_learning.py" in next(
        body.decode() for uri, body in uploads.items() if uri.endswith("/sourcecode.json")
    )


def test_training_starts_from_the_gated_weights_with_the_licence_accepted(
    aws: boto3.session.Session, settings: SageMakerFinetuneSettings, catalog: Path
) -> None:
    request, _ = training_request(aws, settings, catalog)
    model = channels(request)["model"]
    source = model["DataSource"]["S3DataSource"]
    g5_weights = hub_document()["TrainingInstanceTypeVariants"]["Variants"]["g5"]["Properties"]
    assert request["ResourceConfig"]["InstanceType"].startswith("ml.g5.")
    assert source["S3Uri"] == g5_weights["GatedModelEnvVarUri"]
    assert source["ModelAccessConfig"] == {"AcceptEula": True}
    assert model["ContentType"] == "application/x-sagemaker-model"
    assert "SageMakerGatedModelS3Uri" not in request.get("Environment", {})


def test_training_channel_holds_the_catalog_and_domain_adaptation_is_the_default(
    aws: boto3.session.Session, settings: SageMakerFinetuneSettings, catalog: Path
) -> None:
    request, uploads = training_request(aws, settings, catalog)
    training = channels(request)["training"]["DataSource"]["S3DataSource"]
    assert training["S3Uri"].startswith(f"s3://{BUCKET}/fm-tailor/finetune/data/")
    text = uploads[training["S3Uri"] + "train.txt"].decode()
    assert text == ("Kestrel KX-420 - Description\nRated force 420 kN.\nIt weighs 1200 kg.\n")
    hyperparameters = request["HyperParameters"]
    assert hyperparameters["instruction_tuned"] == "False"
    assert hyperparameters["epoch"] == "5"
    assert hyperparameters["learning_rate"] == "0.0001"
    assert hyperparameters["lora_r"] == "8"
    # What we leave unset comes from the model's JumpStart defaults.
    assert hyperparameters["target_modules"] == "q_proj,v_proj"
    document = hub_document()
    assert request["ResourceConfig"]["InstanceType"] in document["SupportedTrainingInstanceTypes"]
    image = request["AlgorithmSpecification"]["TrainingImage"]
    assert (
        image
        == document["TrainingInstanceTypeVariants"]["Variants"]["g5"]["Properties"]["ImageUri"]
    )
    assert request["OutputDataConfig"]["CompressionType"] == "NONE"


def test_dry_run_creates_nothing(
    aws: boto3.session.Session, settings: SageMakerFinetuneSettings, catalog: Path
) -> None:
    training_request(aws, settings, catalog)
    assert bucket_keys(aws) == []
    assert aws.client("sagemaker").list_training_jobs()["TrainingJobSummaries"] == []


def test_instruction_tuning_uploads_pairs_and_a_template_that_names_their_fields(
    aws: boto3.session.Session,
    settings: SageMakerFinetuneSettings,
    catalog: Path,
    tmp_path: Path,
) -> None:
    pairs = [{"question": "How heavy is the KX-420?", "answer": "It weighs 1200 kg."}]
    (tmp_path / "qa.json").write_text(json.dumps(pairs), encoding="utf-8")
    settings.method = "instruct"
    settings.qa_file = tmp_path / "qa.json"
    request, uploads = training_request(aws, settings, catalog)
    prefix = channels(request)["training"]["DataSource"]["S3DataSource"]["S3Uri"]
    assert request["HyperParameters"]["instruction_tuned"] == "True"
    lines = uploads[prefix + "train.jsonl"].decode().splitlines()
    assert [json.loads(line) for line in lines] == pairs
    template = json.loads(uploads[prefix + "template.json"])
    filled = (template["prompt"] + template["completion"]).format(**pairs[0])
    assert "How heavy is the KX-420?" in filled
    assert filled.endswith(" It weighs 1200 kg.")


REFUSED_BEFORE_UPLOAD = [
    ("training_instance_type", "ml.m5.xlarge", "TRAINING_INSTANCE_TYPE"),
    ("accept_eula", False, "ACCEPT_EULA"),
    ("model_id", "meta-textgeneration-llama-9-8b-instruct", "FMT_FINETUNE__SAGEMAKER__MODEL_ID"),
]


@pytest.mark.parametrize(
    ("field", "value", "setting"),
    REFUSED_BEFORE_UPLOAD,
    ids=["instance-type-the-model-cannot-train-on", "licence-not-accepted", "model-id-not-in-hub"],
)
def test_a_setting_the_job_cannot_run_with_is_named_before_anything_is_uploaded(
    aws: boto3.session.Session,
    settings: SageMakerFinetuneSettings,
    catalog: Path,
    field: str,
    value: object,
    setting: str,
) -> None:
    setattr(settings, field, value)
    if field == "model_id":
        settings.hub_document = None  # a file answers for any model; the bundle knows one
    context = open_context(settings, boto_session=aws)
    with pytest.raises(SageMakerSetupError, match=setting):
        pipeline.train_on_sagemaker(context, settings, catalog, lambda message: None)
    assert bucket_keys(aws) == []


def test_a_role_sagemaker_cannot_assume_is_named_before_anything_is_uploaded(
    aws: boto3.session.Session, settings: SageMakerFinetuneSettings, catalog: Path
) -> None:
    trust_lambda = json.dumps(SAGEMAKER_TRUST).replace(
        "sagemaker.amazonaws.com", "lambda.amazonaws.com"
    )
    aws.client("iam").create_role(RoleName="LambdaOnly", AssumeRolePolicyDocument=trust_lambda)
    settings.role_arn = f"arn:aws:iam::{ACCOUNT}:role/LambdaOnly"
    context = open_context(settings, boto_session=aws)
    with pytest.raises(SageMakerSetupError, match="FMT_FINETUNE__SAGEMAKER__ROLE_ARN"):
        pipeline.train_on_sagemaker(context, settings, catalog, lambda message: None)
    assert bucket_keys(aws) == []


def test_the_request_follows_whatever_the_hub_document_says(
    aws: boto3.session.Session,
    settings: SageMakerFinetuneSettings,
    catalog: Path,
    tmp_path: Path,
) -> None:
    document = hub_document()
    document["TrainingScriptUri"] = document["TrainingScriptUri"].replace("v1.2.0", "v9.9.9")
    g5 = document["TrainingInstanceTypeVariants"]["Variants"]["g5"]["Properties"]
    g5["ImageUri"] = g5["ImageUri"].replace("2.0.0-transformers4.28.1", "9.9.9-transformers9")
    (tmp_path / "changed.json").write_text(json.dumps(document), encoding="utf-8")
    settings.hub_document = tmp_path / "changed.json"

    request, _ = training_request(aws, settings, catalog)

    assert (
        "/v9.9.9/sourcedir.tar.gz"
        in channels(request)["code"]["DataSource"]["S3DataSource"]["S3Uri"]
    )
    assert ":9.9.9-transformers9" in request["AlgorithmSpecification"]["TrainingImage"]


def test_bundled_metadata_names_the_regions_own_containers_and_buckets() -> None:
    document = bundled_document("af-south-1")
    assert document["TrainingEcrUri"].startswith("626614931356.dkr.ecr.af-south-1.amazonaws.com/")
    assert document["TrainingScriptUri"].startswith("s3://jumpstart-cache-prod-af-south-1/")
    assert "us-east-1" not in json.dumps(document)


def test_train_deploy_invoke_delete_against_moto(
    aws: boto3.session.Session,
    settings: SageMakerFinetuneSettings,
    catalog: Path,
) -> None:
    context = open_context(settings, boto_session=aws)
    messages: list[str] = []
    sagemaker = aws.client("sagemaker")
    created_models: list[dict[str, Any]] = []
    aws.events.register(
        "provide-client-params.sagemaker.CreateModel",
        lambda params, **kwargs: created_models.append(params),
    )

    job = pipeline.train_on_sagemaker(context, settings, catalog, messages.append)

    described = sagemaker.describe_training_job(TrainingJobName=job)
    assert described["EnableNetworkIsolation"] is True
    assert {"training", "model", "code"} <= set(channels(cast(dict[str, Any], described)))
    assert any(key.endswith("/train.txt") for key in bucket_keys(aws))
    record = json.loads((settings.manifests_dir / f"{job}.json").read_text())
    assert record["training"]["status"] == "Completed"
    assert record["training"]["instance_type"] == hub_document()["DefaultTrainingInstanceType"]
    assert record["jumpstart_metadata"] == "bundled"

    endpoint = pipeline.deploy_on_sagemaker(context, settings, job, messages.append)

    model = sagemaker.describe_model(ModelName=endpoint)
    tgi = hub_document()["InferenceConfigComponents"]["tgi"]
    g5 = tgi["HostingInstanceTypeVariants"]["Variants"]["g5"]["Properties"]
    assert model["PrimaryContainer"]["Image"] == g5["ImageUri"]
    # moto keeps no isolation flag, so it is read from the request it accepted.
    assert created_models[0]["EnableNetworkIsolation"] is True
    assert sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointStatus"] == "InService"
    record = json.loads((settings.manifests_dir / f"{job}.json").read_text())
    assert record["endpoint"]["endpoint_name"] == endpoint

    sagemakerruntime_backends[ACCOUNT][REGION].results_queue.append(
        (
            json.dumps({"generated_text": "The KX-420 is rated at 420 kN."}),
            "application/json",
            "AllTraffic",
            "",
        )
    )
    service = Settings(sagemaker=SageMakerSettings(region=REGION, endpoint_name=endpoint))
    generator = build_sagemaker_generator(service, "tuned")
    answer = _run(
        generator.generate(
            [ChatMessage("user", "What force is the KX-420 rated at?")],
            GenerationParams(max_tokens=64, temperature=0.0),
        )
    )
    assert answer.text == "The KX-420 is rated at 420 kN."

    deleted = pipeline.delete_on_sagemaker(context, settings, endpoint, messages.append)

    assert deleted == [f"endpoint:{endpoint}", f"endpoint config:{endpoint}", f"model:{endpoint}"]
    assert sagemaker.list_endpoints()["Endpoints"] == []
    assert sagemaker.list_models()["Models"] == []
    again = pipeline.delete_on_sagemaker(context, settings, endpoint, messages.append)
    assert again == []


def _run(awaitable: Any) -> Any:
    import asyncio

    return asyncio.run(awaitable)


def test_deploy_passes_the_licence_for_uncompressed_weights(
    aws: boto3.session.Session, settings: SageMakerFinetuneSettings, catalog: Path
) -> None:
    from infra.finetune.sagemaker_endpoint import hosting_for, model_request

    context = open_context(settings, boto_session=aws)
    hosting = hosting_for(settings, context)
    request = model_request(settings, hosting, "ep", f"s3://{BUCKET}/out/job/output/model/")
    source = request["PrimaryContainer"]["ModelDataSource"]["S3DataSource"]
    assert source == {
        "S3Uri": f"s3://{BUCKET}/out/job/output/model/",
        "S3DataType": "S3Prefix",
        "CompressionType": "None",
        "ModelAccessConfig": {"AcceptEula": True},
    }
    assert request["PrimaryContainer"]["Environment"]["HF_MODEL_ID"] == "/opt/ml/model"


def test_an_endpoint_type_the_model_cannot_serve_is_refused_before_anything_is_created(
    aws: boto3.session.Session, settings: SageMakerFinetuneSettings, catalog: Path
) -> None:
    context = open_context(settings, boto_session=aws)
    job = pipeline.train_on_sagemaker(context, settings, catalog, lambda message: None)
    settings.endpoint_instance_type = "ml.t2.medium"
    with pytest.raises(SageMakerSetupError, match="ENDPOINT_INSTANCE_TYPE"):
        pipeline.deploy_on_sagemaker(context, settings, job, lambda message: None)
    assert aws.client("sagemaker").list_models()["Models"] == []


def describe_job(status: str, **extra: Any) -> dict[str, Any]:
    return {
        "TrainingJobName": "job",
        "TrainingJobArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/job",
        "TrainingJobStatus": status,
        "SecondaryStatus": status,
        "AlgorithmSpecification": {"TrainingInputMode": "File"},
        "ModelArtifacts": {"S3ModelArtifacts": f"s3://{BUCKET}/out/model.tar.gz"},
        "ResourceConfig": {"InstanceType": "ml.g5.12xlarge", "InstanceCount": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": 360000},
        "CreationTime": datetime(2026, 1, 1, tzinfo=UTC),
        **extra,
    }


def stubbed_context(monkeypatch: pytest.MonkeyPatch) -> tuple[SageMakerContext, Stubber]:
    # moto finishes every job at once; a job that fails or is still running needs a Stubber.
    client = boto3.client(
        "sagemaker", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"
    )
    monkeypatch.setattr(SageMakerContext, "client", lambda self, service: client)
    session = boto3.session.Session(region_name=REGION)
    return SageMakerContext(session, None, REGION, BUCKET, bundled_metadata=True), Stubber(client)


def test_a_failed_job_is_reported_with_its_reason(
    settings: SageMakerFinetuneSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    context, stub = stubbed_context(monkeypatch)
    stub.add_response("describe_training_job", describe_job("InProgress"))
    stub.add_response(
        "describe_training_job", describe_job("Failed", FailureReason="CUDA out of memory")
    )
    with stub, pytest.raises(TrainingJobFailed, match="CUDA out of memory"):
        pipeline.resume_training(context, settings, "job", lambda m: None, sleep=lambda s: None)


def test_deploy_refuses_an_unfinished_job(
    settings: SageMakerFinetuneSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    context, stub = stubbed_context(monkeypatch)
    stub.add_response("describe_training_job", describe_job("InProgress"))
    with stub, pytest.raises(EndpointFailed, match="InProgress"):
        pipeline.deploy_on_sagemaker(context, settings, "job", lambda m: None)


def cli_environment(monkeypatch: pytest.MonkeyPatch, catalog: Path, tmp_path: Path) -> None:
    for name, value in {
        "FMT_CATALOG": str(catalog),
        "FMT_FINETUNE__SAGEMAKER__REGION": REGION,
        "FMT_FINETUNE__SAGEMAKER__ROLE_ARN": ROLE,
        "FMT_FINETUNE__SAGEMAKER__BUCKET": BUCKET,
        "FMT_FINETUNE__SAGEMAKER__ACCEPT_EULA": "true",
        "FMT_FINETUNE__SAGEMAKER__POLL_INTERVAL_S": "0.01",
        "FMT_FINETUNE__SAGEMAKER__MANIFESTS_DIR": str(tmp_path / "records"),
    }.items():
        monkeypatch.setenv(name, value)


def test_cli_dry_run_offline_prints_the_request_as_json(
    catalog: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    offline(monkeypatch)
    cli_environment(monkeypatch, catalog, tmp_path)

    assert main(["sagemaker-train", "--dry-run"]) == 0

    request = json.loads(capsys.readouterr().out)
    assert request["RoleArn"] == ROLE
    assert {"training", "model", "code"} <= set(channels(request))
    assert request["EnableNetworkIsolation"] is True
    assert not (tmp_path / "records").exists()


def test_cli_starts_without_waiting_then_resumes_and_deploys(
    aws: boto3.session.Session,
    catalog: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cli_environment(monkeypatch, catalog, tmp_path)
    monkeypatch.setenv("FMT_FINETUNE__SAGEMAKER__METADATA", "bundled")
    monkeypatch.setattr(boto3.session, "Session", lambda region_name=None: aws)

    assert main(["sagemaker-train", "--no-wait"]) == 0
    job = capsys.readouterr().out.strip().splitlines()[-1].removeprefix("training job: ")
    assert "training" not in json.loads((tmp_path / "records" / f"{job}.json").read_text())

    assert main(["sagemaker-train", "--resume", job, "--deploy"]) == 0

    out = capsys.readouterr().out
    assert f"FMT_SAGEMAKER__ENDPOINT_NAME={job}" in out
    assert aws.client("sagemaker").describe_endpoint(EndpointName=job)["EndpointStatus"] == (
        "InService"
    )
    record = json.loads((tmp_path / "records" / f"{job}.json").read_text())
    assert record["training"]["status"] == "Completed"


def test_cli_names_the_missing_setting_without_a_traceback(
    catalog: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    offline(monkeypatch)
    cli_environment(monkeypatch, catalog, tmp_path)
    monkeypatch.delenv("FMT_FINETUNE__SAGEMAKER__BUCKET")

    assert main(["sagemaker-train", "--dry-run"]) == 2

    captured = capsys.readouterr()
    assert "FMT_FINETUNE__SAGEMAKER__BUCKET" in captured.err
    assert "Traceback" not in captured.err
