"""`python -m infra.kb_sync` against stubbed S3, Bedrock Agent and CloudFormation APIs."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import docx
import pytest
from botocore.stub import ANY, Stubber

from infra.kb_sync.__main__ import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main, sync
from infra.kb_sync.documents import catalog_objects
from infra.kb_sync.ingestion import IngestionError, start_ingestion, wait_for_ingestion
from infra.kb_sync.settings import SyncSettings
from tests.catalog.pdf_writer import write_pdf

BUCKET = "fm-tailor-catalog-bucket"
KNOWLEDGE_BASE_ID = "KB12345678"
DATA_SOURCE_ID = "DS12345678"
JOB_ID = "JOB1234567"
NOW = datetime(2026, 11, 26, tzinfo=UTC)


def client(service: str) -> Any:
    return boto3.client(
        service,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def stubs() -> Iterator[dict[str, tuple[Any, Stubber]]]:
    clients = {name: client(name) for name in ("s3", "bedrock-agent", "cloudformation")}
    stubbers = {name: Stubber(each) for name, each in clients.items()}
    for stubber in stubbers.values():
        stubber.activate()
    yield {name: (clients[name], stubbers[name]) for name in clients}
    for stubber in stubbers.values():
        stubber.deactivate()


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "catalog.txt").write_text(
        "=== PRODUCT: Kestrel KX-420 ===\n--- Description ---\nRated force 420 kN.\n"
    )
    (folder / "guides").mkdir()
    (folder / "guides" / "welding.md").write_text("# Brantley BW-350\n## Operation\n350 A.\n")
    return folder


@pytest.fixture(autouse=True)
def _no_sync_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BUCKET", "KNOWLEDGE_BASE_ID", "DATA_SOURCE_ID", "STACK_NAME", "PREFIX"):
        monkeypatch.delenv(f"FMT_KB_SYNC_{name}", raising=False)


def settings(catalog: Path, **values: Any) -> SyncSettings:
    defaults: dict[str, Any] = {
        "bucket": BUCKET,
        "knowledge_base_id": KNOWLEDGE_BASE_ID,
        "data_source_id": DATA_SOURCE_ID,
        "catalog": catalog,
        "poll_interval_s": 0.001,
    }
    return SyncSettings(_env_file=None, **(defaults | values))  # type: ignore[call-arg]


def job(status: str, **extra: Any) -> dict[str, Any]:
    return {
        "ingestionJob": {
            "knowledgeBaseId": KNOWLEDGE_BASE_ID,
            "dataSourceId": DATA_SOURCE_ID,
            "ingestionJobId": JOB_ID,
            "status": status,
            "startedAt": NOW,
            "updatedAt": NOW,
            **extra,
        }
    }


# Each fixture file is about one product, so it is uploaded as it is, with its sidecar.
DOCUMENTS = {
    "catalog/catalog.txt": "text/plain; charset=utf-8",
    "catalog/guides/welding.md": "text/markdown; charset=utf-8",
}
DOCUMENT_KEYS = list(DOCUMENTS)


def expect_upload(
    s3: Stubber,
    existing: dict[str, str],
    stale_keys: list[str],
    unchanged_keys: frozenset[str] = frozenset(),
) -> None:
    """ListObjectsV2 (key -> ETag), a PutObject per new or changed object, one DeleteObjects."""
    s3.add_response(
        "list_objects_v2",
        {
            "Contents": [{"Key": key, "ETag": f'"{etag}"'} for key, etag in existing.items()],
            "IsTruncated": False,
        },
        {"Bucket": BUCKET, "Prefix": "catalog/"},
    )
    for key, document_type in DOCUMENTS.items():
        for object_key, content_type in (
            (key, document_type),
            (key + ".metadata.json", "application/json"),
        ):
            if object_key in unchanged_keys:
                continue
            s3.add_response(
                "put_object",
                {"ETag": '"etag"'},
                {"Bucket": BUCKET, "Key": object_key, "Body": ANY, "ContentType": content_type},
            )
    if stale_keys:
        s3.add_response(
            "delete_objects",
            {"Deleted": [{"Key": key} for key in stale_keys]},
            {
                "Bucket": BUCKET,
                "Delete": {"Objects": [{"Key": key} for key in stale_keys], "Quiet": True},
            },
        )


def expect_ingestion(agent: Stubber, final: dict[str, Any]) -> None:
    ids = {"knowledgeBaseId": KNOWLEDGE_BASE_ID, "dataSourceId": DATA_SOURCE_ID}
    agent.add_response(
        "start_ingestion_job", job("STARTING"), {**ids, "clientToken": ANY, "description": ANY}
    )
    agent.add_response("get_ingestion_job", job("IN_PROGRESS"), {**ids, "ingestionJobId": JOB_ID})
    agent.add_response("get_ingestion_job", final, {**ids, "ingestionJobId": JOB_ID})


STATISTICS = {
    "numberOfDocumentsScanned": 2,
    "numberOfNewDocumentsIndexed": 2,
    "numberOfModifiedDocumentsIndexed": 0,
    "numberOfDocumentsDeleted": 1,
    "numberOfDocumentsFailed": 0,
}


def test_sync_uploads_changes_removes_stale_objects_and_reports_indexed_documents(
    stubs: dict[str, tuple[Any, Stubber]], catalog: Path
) -> None:
    (s3, s3_stub), (agent, agent_stub) = stubs["s3"], stubs["bedrock-agent"]
    bodies = {item.key: item.body for item in catalog_objects(catalog, "catalog/")}
    unchanged = DOCUMENT_KEYS[0]
    existing = {
        unchanged: hashlib.md5(bodies[unchanged]).hexdigest(),
        DOCUMENT_KEYS[1]: "0" * 32,  # changed since the last sync
        "catalog/old/product.txt": "1" * 32,
        "catalog/old/product.txt.metadata.json": "2" * 32,
    }
    stale = ["catalog/old/product.txt", "catalog/old/product.txt.metadata.json"]
    expect_upload(s3_stub, existing, stale, unchanged_keys=frozenset({unchanged}))
    expect_ingestion(agent_stub, job("COMPLETE", statistics=STATISTICS))
    out = io.StringIO()

    assert sync(settings(catalog), s3, agent, None, out) == EXIT_OK

    printed = out.getvalue()
    assert (
        f"catalog: 2 documents in s3://{BUCKET}/catalog/: "
        "3 objects uploaded, 1 unchanged, 2 stale deleted"
    ) in printed
    assert f"ingestion job {JOB_ID}: COMPLETE" in printed
    assert "scanned 2, new indexed 2, modified indexed 0, deleted 1, failed 0" in printed
    s3_stub.assert_no_pending_responses()
    agent_stub.assert_no_pending_responses()


def test_failed_documents_fail_the_command_and_say_why(
    stubs: dict[str, tuple[Any, Stubber]], catalog: Path
) -> None:
    (s3, s3_stub), (agent, agent_stub) = stubs["s3"], stubs["bedrock-agent"]
    expect_upload(s3_stub, {}, [])
    final = job(
        "COMPLETE",
        statistics={**STATISTICS, "numberOfDocumentsFailed": 1},
        failureReasons=["brantley-bw-350/operation.txt: unsupported encoding"],
    )
    expect_ingestion(agent_stub, final)
    out = io.StringIO()

    assert sync(settings(catalog), s3, agent, None, out) == EXIT_FAILED

    assert "failed 1" in out.getvalue()
    assert "failure: brantley-bw-350/operation.txt: unsupported encoding" in out.getvalue()


def test_a_job_still_running_at_the_deadline_is_reported_not_waited_for(
    stubs: dict[str, tuple[Any, Stubber]],
) -> None:
    agent, agent_stub = stubs["bedrock-agent"]
    ids = {"knowledgeBaseId": KNOWLEDGE_BASE_ID, "dataSourceId": DATA_SOURCE_ID}
    for _ in range(2):
        agent_stub.add_response(
            "get_ingestion_job", job("IN_PROGRESS"), {**ids, "ingestionJobId": JOB_ID}
        )
    times = iter([0.0, 0.0, 30.0, 61.0])
    slept: list[float] = []

    report = wait_for_ingestion(
        agent,
        job("STARTING")["ingestionJob"],
        timeout_s=60,
        poll_interval_s=30,
        clock=lambda: next(times),
        sleep=slept.append,
    )

    assert report.timed_out and not report.succeeded
    assert (
        report.lines()[0] == f"ingestion job {JOB_ID}: still IN_PROGRESS after the deadline in 61 s"
    )
    assert slept == [30.0, 30.0]


def test_a_job_already_running_is_explained(stubs: dict[str, tuple[Any, Stubber]]) -> None:
    agent, agent_stub = stubs["bedrock-agent"]
    agent_stub.add_client_error(
        "start_ingestion_job", service_error_code="ConflictException", http_status_code=409
    )
    with pytest.raises(IngestionError, match="already running"):
        start_ingestion(agent, KNOWLEDGE_BASE_ID, DATA_SOURCE_ID)


def test_stack_outputs_fill_in_bucket_prefix_and_ids(
    stubs: dict[str, tuple[Any, Stubber]], catalog: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (s3, s3_stub), (agent, agent_stub) = stubs["s3"], stubs["bedrock-agent"]
    cloudformation, cloudformation_stub = stubs["cloudformation"]
    outputs = {
        "CatalogBucketName": BUCKET,
        "CatalogPrefix": "catalog/",
        "KnowledgeBaseId": KNOWLEDGE_BASE_ID,
        "DataSourceId": DATA_SOURCE_ID,
    }
    cloudformation_stub.add_response(
        "describe_stacks",
        {
            "Stacks": [
                {
                    "StackName": "FmTailorKnowledgeBase",
                    "CreationTime": NOW,
                    "StackStatus": "CREATE_COMPLETE",
                    "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()],
                }
            ]
        },
        {"StackName": "FmTailorKnowledgeBase"},
    )
    expect_upload(s3_stub, {}, [])
    expect_ingestion(agent_stub, job("COMPLETE", statistics=STATISTICS))
    clients = {"s3": s3, "bedrock-agent": agent, "cloudformation": cloudformation}

    code = main(
        [
            "--stack-name",
            "FmTailorKnowledgeBase",
            "--catalog",
            str(catalog),
            "--poll-interval-s",
            "0.001",
        ],
        client_factory=lambda service, region_name=None: clients[service],
    )

    assert code == EXIT_OK
    assert f"s3://{BUCKET}/catalog/" in capsys.readouterr().out
    cloudformation_stub.assert_no_pending_responses()


def test_missing_ids_are_named_in_the_error(
    stubs: dict[str, tuple[Any, Stubber]], catalog: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clients = {name: pair[0] for name, pair in stubs.items()}

    code = main(
        ["--bucket", BUCKET, "--catalog", str(catalog)],
        client_factory=lambda service, region_name=None: clients[service],
    )

    assert code == EXIT_USAGE
    error = capsys.readouterr().err
    assert "--knowledge-base-id" in error and "--data-source-id" in error
    assert "--bucket" not in error.split("missing", 1)[1].split("(")[0]


def test_a_single_product_file_is_uploaded_as_it_is_with_its_product_in_the_sidecar(
    catalog: Path,
) -> None:
    objects = {item.key: item for item in catalog_objects(catalog, "catalog/")}

    assert sorted(objects) == sorted(
        [*DOCUMENT_KEYS, *(k + ".metadata.json" for k in DOCUMENT_KEYS)]
    )
    assert objects["catalog/guides/welding.md"].body == (catalog / "guides/welding.md").read_bytes()
    metadata = json.loads(objects["catalog/guides/welding.md.metadata.json"].body)
    assert metadata == {
        "metadataAttributes": {
            "product": "Brantley BW-350",
            "source": "guides/welding.md",
            "sections": ["Operation"],
        }
    }


def test_original_pdf_and_word_files_keep_their_format(tmp_path: Path) -> None:
    write_pdf(tmp_path / "pump.pdf", ["Never run the pump dry."], title="Vantor VP-65 Pump")
    document = docx.Document()
    document.add_heading("Torvik TL-1600 Lathe", level=0)
    document.add_paragraph("Close the door before the spindle starts.")
    document.save(str(tmp_path / "lathe.docx"))

    objects = {item.key: item for item in catalog_objects(tmp_path, "kb/")}

    assert objects["kb/pump.pdf"].content_type == "application/pdf"
    assert objects["kb/pump.pdf"].body == (tmp_path / "pump.pdf").read_bytes()
    assert objects["kb/lathe.docx"].content_type.endswith("wordprocessingml.document")
    products = {
        key: json.loads(item.body)["metadataAttributes"]["product"]
        for key, item in objects.items()
        if key.endswith(".metadata.json")
    }
    assert products == {
        "kb/pump.pdf.metadata.json": "Vantor VP-65 Pump",
        "kb/lathe.docx.metadata.json": "Torvik TL-1600 Lathe",
    }


def test_a_multi_product_file_becomes_one_markdown_document_per_product(tmp_path: Path) -> None:
    (tmp_path / "export.txt").write_text(
        "Name: Kestrel KX-420 Press\nProduct ID: KX-420\n"
        "Description: A four-post hydraulic press rated at 420 kN for stamping and drawing.\n\n"
        "Name: Brantley BW-350 Welder\n"
        "Safety: Wear a helmet of shade 12 or darker above 250 A and leather gauntlets.\n",
        encoding="utf-8",
    )
    (tmp_path / "empty.txt").write_bytes(b"")

    objects = {item.key: item for item in catalog_objects(tmp_path, "kb/")}

    assert sorted(objects) == [
        "kb/export/brantley-bw-350-welder.md",
        "kb/export/brantley-bw-350-welder.md.metadata.json",
        "kb/export/kestrel-kx-420-press.md",
        "kb/export/kestrel-kx-420-press.md.metadata.json",
    ]
    press = objects["kb/export/kestrel-kx-420-press.md"].body.decode()
    assert press.startswith("# Kestrel KX-420 Press\n")
    assert "## Description" in press and "420 kN" in press and "250 A" not in press
    metadata = json.loads(objects["kb/export/brantley-bw-350-welder.md.metadata.json"].body)
    assert metadata == {
        "metadataAttributes": {
            "product": "Brantley BW-350 Welder",
            "source": "export.txt",
            "sections": ["Safety"],
        }
    }


def test_no_region_is_a_usage_error_that_says_how_to_fix_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))

    code = main(["--bucket", BUCKET, "--knowledge-base-id", "K", "--data-source-id", "D"])

    assert code == EXIT_USAGE
    assert "AWS_REGION" in capsys.readouterr().err


def test_a_missing_catalog_is_a_usage_error(
    stubs: dict[str, tuple[Any, Stubber]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clients = {name: pair[0] for name, pair in stubs.items()}
    arguments = ["--bucket", BUCKET, "--knowledge-base-id", "K", "--data-source-id", "D"]

    code = main(
        [*arguments, "--catalog", str(tmp_path / "missing")],
        client_factory=lambda service, region_name=None: clients[service],
    )

    assert code == EXIT_USAGE
    assert "does not exist" in capsys.readouterr().err


def test_the_retriever_names_the_section_the_sync_wrote_in_the_sidecar(tmp_path: Path) -> None:
    from app.retrievers.bedrock_kb import passage_from_result

    (tmp_path / "export.txt").write_text(
        "Name: Kestrel KX-420 Press\nProduct ID: KX-420\n"
        "Description: A four-post hydraulic press rated at 420 kN for stamping and drawing.\n"
        "Safety: Keep both hands on the two-hand control while the ram moves.\n\n"
        "Name: Brantley BW-350 Welder\n"
        "Safety: Wear a helmet of shade 12 or darker above 250 A.\n",
        encoding="utf-8",
    )
    objects = {item.key: item for item in catalog_objects(tmp_path, "kb/")}
    key = "kb/export/kestrel-kx-420-press.md"
    attributes = json.loads(objects[key + ".metadata.json"].body)["metadataAttributes"]
    # Bedrock returns a chunk's sidecar attributes as its metadata; the chunk is a slice of the
    # uploaded markdown.
    document = objects[key].body.decode()
    chunk = document[document.index("## Safety") :]
    result = {
        "content": {"text": chunk},
        "location": {"type": "S3", "s3Location": {"uri": f"s3://bucket/{key}"}},
        "metadata": attributes,
    }

    passage = passage_from_result(result, 0, "product")

    assert passage.section == "Safety"


def test_filterable_sidecar_metadata_stays_within_s3_vectors_2_kb_for_any_catalog(
    tmp_path: Path,
) -> None:
    from infra.cdk.s3_vectors_store import FILTERABLE_METADATA_LIMIT, NON_FILTERABLE_KEYS

    sections = "".join(
        f"Feature number {index} of the press with a long descriptive title: text {index}.\n"
        for index in range(200)
    )
    (tmp_path / "press.txt").write_text(f"Name: Kestrel KX-420 Press\n{sections}")
    objects = catalog_objects(tmp_path, "kb/")
    sidecars = [item for item in objects if item.key.endswith(".metadata.json")]
    assert sidecars
    for sidecar in sidecars:
        attributes = json.loads(sidecar.body)["metadataAttributes"]
        filterable = {k: v for k, v in attributes.items() if k not in NON_FILTERABLE_KEYS}
        assert len(json.dumps(filterable).encode()) <= FILTERABLE_METADATA_LIMIT


def test_every_flag_is_a_setting_and_keep_stale_still_keeps(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from infra.kb_sync.__main__ import settings_from

    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    monkeypatch.setenv("FMT_KB_SYNC_REGION", "eu-west-1")
    flags = ["--stack-name", "S", "--bucket", "B", "--prefix", "p/", "--knowledge-base-id", "K"]
    flags += ["--data-source-id", "D", "--catalog", str(tmp_path), "--timeout-s", "5"]
    flags += ["--poll-interval-s", "0.5"]

    settings = settings_from(flags)
    assert (settings.stack_name, settings.bucket, settings.prefix) == ("S", "B", "p/")
    assert (settings.knowledge_base_id, settings.data_source_id) == ("K", "D")
    assert (settings.catalog, settings.timeout_s, settings.poll_interval_s) == (tmp_path, 5, 0.5)
    assert settings.region == "eu-west-1"  # from the environment, under the flags
    assert settings.delete_stale is True
    assert settings_from(["--keep-stale"]).delete_stale is False
    assert settings_from(["--region", "us-east-1"]).region == "us-east-1"
    with pytest.raises(SystemExit):
        settings_from(["--no-such-flag"])
