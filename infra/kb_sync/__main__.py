"""`python -m infra.kb_sync`: upload the catalog, start an ingestion job, wait, report."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

from botocore.exceptions import BotoCoreError, ClientError, NoRegionError
from pydantic_settings import CliApp

from app.catalog import CatalogError
from infra.kb_sync.ingestion import IngestionError, start_ingestion, wait_for_ingestion
from infra.kb_sync.settings import SyncSettings
from infra.kb_sync.targets import SyncConfigurationError, resolve_target
from infra.kb_sync.upload import upload_catalog

if TYPE_CHECKING:
    from mypy_boto3_bedrock_agent import AgentsforBedrockClient
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_s3 import S3Client

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def settings_from(argv: list[str] | None) -> SyncSettings:
    """Environment and .env first, then the flags given on the command line (each flag is a
    setting: `--stack-name` is FMT_KB_SYNC_STACK_NAME)."""
    return CliApp.run(SyncSettings, cli_args=argv if argv is not None else sys.argv[1:])


def sync(
    settings: SyncSettings,
    s3: S3Client,
    agent: AgentsforBedrockClient,
    cloudformation: CloudFormationClient | None,
    out: TextIO,
) -> int:
    """Upload, ingest, print the report; the exit code says whether every document was indexed."""
    target = resolve_target(settings, cloudformation)
    upload = upload_catalog(
        s3, settings.catalog, target.bucket, target.prefix, settings.delete_stale
    )
    print(
        f"catalog: {upload.documents} documents in s3://{target.bucket}/{target.prefix}: "
        f"{len(upload.uploaded_keys)} objects uploaded, {len(upload.unchanged_keys)} unchanged, "
        f"{len(upload.deleted_keys)} stale deleted",
        file=out,
    )
    job = start_ingestion(agent, target.knowledge_base_id, target.data_source_id)
    print(f"started ingestion job {job['ingestionJobId']}", file=out, flush=True)
    report = wait_for_ingestion(agent, job, settings.timeout_s, settings.poll_interval_s)
    for line in report.lines():
        print(line, file=out)
    return EXIT_OK if report.succeeded else EXIT_FAILED


def _clients(
    settings: SyncSettings, client_factory: Callable[..., Any]
) -> tuple[Any, Any, Any | None]:
    s3 = client_factory("s3", region_name=settings.region)
    agent = client_factory("bedrock-agent", region_name=settings.region)
    cloudformation = None
    if settings.stack_name:
        cloudformation = client_factory("cloudformation", region_name=settings.region)
    return s3, agent, cloudformation


def main(argv: list[str] | None = None, client_factory: Callable[..., Any] | None = None) -> int:
    settings = settings_from(argv)
    if client_factory is None:
        import boto3

        client_factory = boto3.client
    try:
        s3, agent, cloudformation = _clients(settings, client_factory)
        return sync(settings, s3, agent, cloudformation, sys.stdout)
    except NoRegionError:
        print("error: no AWS region: set AWS_REGION or pass --region", file=sys.stderr)
        return EXIT_USAGE
    except (SyncConfigurationError, CatalogError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except (IngestionError, ClientError, BotoCoreError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
