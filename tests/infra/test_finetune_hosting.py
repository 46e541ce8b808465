"""The endpoint built from a published hub document, as the SageMaker SDK resolves it.

The document is the SDK's own public fixture (tests/infra/fixtures/README.md: repository, path,
commit); every request is checked against botocore's SageMaker service model.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.validate import validate_parameters

from infra.finetune.__main__ import main
from infra.finetune.serving_limits import ModelShape, ServingLimitError, max_model_len
from tests.infra.sagemaker_aws import BUCKET, ROLE, offline

FIXTURES = Path(__file__).parent / "fixtures"
SDK_DOCUMENT = FIXTURES / "sdk-hub_content_document.json"
PUBLISHED: dict[str, Any] = json.loads(SDK_DOCUMENT.read_text())
SAGEMAKER = botocore.session.get_session().get_service_model("sagemaker")


def component(name: str) -> dict[str, Any]:
    found: dict[str, Any] = PUBLISHED["InferenceConfigComponents"][name]
    return found


def family_image(name: str, family: str) -> str:
    return str(
        component(name)["HostingInstanceTypeVariants"]["Variants"][family]["Properties"]["ImageUri"]
    )


def assert_valid(operation: str, request: dict[str, Any]) -> None:
    """botocore's own validation of a request against the SageMaker service model."""
    validate_parameters(request, SAGEMAKER.operation_model(operation).input_shape)


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    offline(monkeypatch)
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    catalog = tmp_path / "catalog.txt"
    catalog.write_text("=== PRODUCT: Kestrel KX-420 ===\n--- Description ---\nRated 420 kN.\n")
    for name, value in {
        "FMT_CATALOG": str(catalog),
        "AWS_REGION": "us-east-1",  # only AWS_REGION: botocore alone does not read it
        "FMT_FINETUNE__SAGEMAKER__ROLE_ARN": ROLE,
        "FMT_FINETUNE__SAGEMAKER__BUCKET": BUCKET,
        "FMT_FINETUNE__SAGEMAKER__ACCEPT_EULA": "true",
        "FMT_FINETUNE__SAGEMAKER__MANIFESTS_DIR": str(tmp_path / "records"),
    }.items():
        monkeypatch.setenv(name, value)


def deploy_dry_run(
    capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[dict[str, dict[str, Any]], str]:
    arguments = ["sagemaker-deploy", "--job-name", "fmt-job-1", "--dry-run", *extra]
    assert main([*arguments, "--hub-document", str(SDK_DOCUMENT)]) == 0
    captured = capsys.readouterr()
    requests: dict[str, dict[str, Any]] = json.loads(captured.out)
    return requests, captured.err


@pytest.mark.usefixtures("environment")
def test_the_sdk_fixture_deploys_its_top_ranked_config_on_its_default_instance(
    capsys: pytest.CaptureFixture[str],
) -> None:
    requests, notes = deploy_dry_run(capsys)

    assert set(requests) == {"CreateModel", "CreateEndpointConfig", "CreateEndpoint"}
    for operation, request in requests.items():
        assert_valid(operation, request)
    # The document ranks tgi first; its default instance type is a g5.
    top = PUBLISHED["InferenceConfigRankings"]["overall"]["Rankings"][0]
    instance_type = component(top)["DefaultInferenceInstanceType"]
    (variant,) = requests["CreateEndpointConfig"]["ProductionVariants"]
    assert variant["InstanceType"] == instance_type
    container = requests["CreateModel"]["PrimaryContainer"]
    assert container["Image"] == family_image(top, instance_type.split(".")[1])
    assert "HostingEcrUri" not in PUBLISHED  # no top-level image to fall back on
    per_instance = component(top)["HostingInstanceTypeVariants"]["Variants"][instance_type]
    for name, value in per_instance["Properties"]["EnvironmentVariables"].items():
        assert container["Environment"][name] == value
    # The document caps TGI's sequence length itself; its cap is kept.
    assert container["Environment"]["MAX_TOTAL_TOKENS"] == "4096"
    assert (
        variant["ModelDataDownloadTimeoutInSeconds"] == component(top)["ModelDataDownloadTimeout"]
    )
    assert (
        variant["ContainerStartupHealthCheckTimeoutInSeconds"]
        == (component(top)["ContainerStartupHealthCheckTimeout"])
    )
    assert requests["CreateModel"]["EnableNetworkIsolation"] is True
    source = container["ModelDataSource"]["S3DataSource"]
    assert source["ModelAccessConfig"] == {"AcceptEula": True}
    # Offline there is no training job to describe: its artifacts are a named placeholder.
    assert source["S3Uri"] in notes and "placeholder" in notes


@pytest.mark.usefixtures("environment")
def test_an_lmi_config_gets_a_maximum_model_length_that_fits_the_instance(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FMT_FINETUNE__SAGEMAKER__INFERENCE_CONFIG", "lmi")
    monkeypatch.setenv("FMT_FINETUNE__SAGEMAKER__ENDPOINT_INSTANCE_TYPE", "ml.p4d.24xlarge")

    requests, _ = deploy_dry_run(capsys)

    container = requests["CreateModel"]["PrimaryContainer"]
    assert container["Image"] == family_image("lmi", "p4d")
    assert "djl-inference" in container["Image"]
    environment = container["Environment"]
    lmi_p4d = component("lmi")["HostingInstanceTypeVariants"]["Variants"]["ml.p4d.24xlarge"]
    assert (
        environment["OPTION_TENSOR_PARALLEL_DEGREE"]
        == (lmi_p4d["Properties"]["EnvironmentVariables"]["OPTION_TENSOR_PARALLEL_DEGREE"])
    )
    length = int(environment["OPTION_MAX_MODEL_LEN"])
    # Two of the p4d's eight 40 GiB GPUs (the document's tensor-parallel degree) hold the
    # weights and at least four sequences of this length.
    assert length == max_model_len(ModelShape(), 2, 2 * 40960, 0.9)
    assert 1024 <= length < ModelShape().context_tokens


def test_a_one_gpu_instance_caps_llama_3_1_far_below_its_context() -> None:
    # g5.2xlarge: one A10G, 24 GiB (the SDK's instance_gpu_info.json).
    length = max_model_len(ModelShape(), 1, 24576, 0.9)
    assert 4096 <= length <= 16384
    with pytest.raises(ServingLimitError, match="ENDPOINT_INSTANCE_TYPE"):
        max_model_len(ModelShape(), 1, 16384, 0.9)  # a 16 GiB T4 cannot hold the weights


@pytest.mark.usefixtures("environment")
def test_an_instance_type_the_document_does_not_list_is_refused_by_name(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FMT_FINETUNE__SAGEMAKER__ENDPOINT_INSTANCE_TYPE", "ml.t2.medium")
    arguments = ["sagemaker-deploy", "--job-name", "j", "--dry-run"]
    assert main([*arguments, "--hub-document", str(SDK_DOCUMENT)]) == 2
    assert "ENDPOINT_INSTANCE_TYPE=ml.t2.medium" in capsys.readouterr().err


@pytest.mark.usefixtures("environment")
def test_training_dry_run_with_only_aws_region_trains_with_an_image_the_document_names(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    assert main(["sagemaker-train", "--dry-run", "--hub-document", str(SDK_DOCUMENT)]) == 0

    request = json.loads(capsys.readouterr().out)
    assert_valid("CreateTrainingJob", request)
    instance_type = PUBLISHED["DefaultTrainingInstanceType"]
    assert request["ResourceConfig"]["InstanceType"] == instance_type
    variants = PUBLISHED["TrainingInstanceTypeVariants"]["Variants"]
    family = variants[instance_type.split(".")[1]]["Properties"]
    assert request["AlgorithmSpecification"]["TrainingImage"] == family["ImageUri"]
    # The v3 SDK does not pass JumpStart's TrainingMetrics on: we do.
    assert request["AlgorithmSpecification"]["MetricDefinitions"] == PUBLISHED["TrainingMetrics"]
    assert "No region provided" not in caplog.text
