"""Settings of the sync command: environment variables `FMT_KB_SYNC_*`, overridden by flags."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.settings import PROJECT_ROOT


class SyncSettings(BaseSettings):
    """Where the catalog goes and how long to wait for Bedrock to index it."""

    model_config = SettingsConfigDict(
        env_prefix="FMT_KB_SYNC_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
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
    timeout_s: float = Field(1800.0, gt=0, description="How long to wait for the ingestion job.")
    poll_interval_s: float = Field(10.0, gt=0)
