"""Settings of the sync command: environment variables `FMT_KB_SYNC_*`, overridden by flags
(`python -m infra.kb_sync --help`: pydantic-settings parses them from these fields)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import CliImplicitFlag, SettingsConfigDict

from app.settings import PROJECT_ROOT
from infra.settings import InfraBaseSettings


class SyncSettings(InfraBaseSettings):
    """Upload the catalog to the Knowledge Base bucket and sync the data source; every flag also
    reads from FMT_KB_SYNC_<NAME>."""

    model_config = SettingsConfigDict(
        env_prefix="FMT_KB_SYNC_",
        cli_prog_name="python -m infra.kb_sync",
        cli_kebab_case=True,
    )

    stack_name: str | None = Field(
        None, description="Read bucket, prefix and ids from this stack's outputs."
    )
    bucket: str | None = None
    prefix: str | None = Field(
        None, description="Key prefix of the catalog objects; default: the stack's, or catalog/."
    )
    knowledge_base_id: str | None = None
    data_source_id: str | None = None
    catalog: Path = Field(
        PROJECT_ROOT / "data" / "kb",
        description="A catalog file or folder (the formats FMT_CATALOG reads).",
    )
    region: str | None = Field(None, description="Default: AWS_REGION / the profile's region.")
    delete_stale: bool = Field(
        True, description="Delete objects under the prefix that the catalog no longer has."
    )
    keep_stale: CliImplicitFlag[bool] = Field(
        False,
        exclude=True,
        description="Keep objects under the prefix that the catalog no longer has "
        "(delete_stale false).",
    )
    timeout_s: float = Field(1800.0, gt=0, description="How long to wait for the ingestion job.")
    poll_interval_s: float = Field(10.0, gt=0)

    @model_validator(mode="after")
    def _keeping_stale(self) -> SyncSettings:
        if self.keep_stale:
            self.delete_stale = False
        return self
