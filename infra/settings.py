"""The settings base of every infra command: the service's rules (environment and `.env`, nested
with `__`, unknown variables ignored); each command adds its own prefix (`FMT_INFRA_`, ...)."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class InfraBaseSettings(BaseSettings):
    """Subclasses set `model_config = SettingsConfigDict(env_prefix=...)`; the rest is here."""

    model_config = SettingsConfigDict(
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )
