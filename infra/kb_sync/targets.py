"""Where to sync: explicit ids, or the outputs of the deployed CDK stack."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from infra.cdk.outputs import (
    OUTPUT_CATALOG_BUCKET,
    OUTPUT_CATALOG_PREFIX,
    OUTPUT_DATA_SOURCE_ID,
    OUTPUT_KNOWLEDGE_BASE_ID,
)
from infra.kb_sync.settings import SyncSettings

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient


DEFAULT_PREFIX = "catalog/"


class SyncConfigurationError(ValueError):
    """The command does not know where to upload or which data source to sync."""


@dataclass(frozen=True, slots=True)
class SyncTarget:
    bucket: str
    prefix: str
    knowledge_base_id: str
    data_source_id: str


def stack_outputs(cloudformation: CloudFormationClient, stack_name: str) -> dict[str, str]:
    """The outputs of a deployed stack, by name."""
    stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    if not stacks:
        raise SyncConfigurationError(f"stack {stack_name} was not found")
    return {
        output["OutputKey"]: output["OutputValue"]
        for output in stacks[0].get("Outputs", [])
        if "OutputKey" in output and "OutputValue" in output
    }


def resolve_target(
    settings: SyncSettings, cloudformation: CloudFormationClient | None
) -> SyncTarget:
    """Explicit values win; the stack's outputs fill in the rest."""
    outputs: dict[str, str] = {}
    if settings.stack_name:
        if cloudformation is None:
            raise SyncConfigurationError("a CloudFormation client is needed to read the stack")
        outputs = stack_outputs(cloudformation, settings.stack_name)
    bucket = settings.bucket or outputs.get(OUTPUT_CATALOG_BUCKET)
    knowledge_base_id = settings.knowledge_base_id or outputs.get(OUTPUT_KNOWLEDGE_BASE_ID)
    data_source_id = settings.data_source_id or outputs.get(OUTPUT_DATA_SOURCE_ID)
    missing = [
        flag
        for flag, value in (
            ("--bucket / FMT_KB_SYNC_BUCKET", bucket),
            ("--knowledge-base-id / FMT_KB_SYNC_KNOWLEDGE_BASE_ID", knowledge_base_id),
            ("--data-source-id / FMT_KB_SYNC_DATA_SOURCE_ID", data_source_id),
        )
        if not value
    ]
    if missing or bucket is None or knowledge_base_id is None or data_source_id is None:
        raise SyncConfigurationError(
            "missing " + ", ".join(missing) + " (or give --stack-name of the deployed stack)"
        )
    prefix = settings.prefix or outputs.get(OUTPUT_CATALOG_PREFIX) or DEFAULT_PREFIX
    return SyncTarget(bucket, prefix, knowledge_base_id, data_source_id)
