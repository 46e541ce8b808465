"""Where the local LoRA adapter trained for the configured catalog lies on disk."""

from __future__ import annotations

from pathlib import Path

from app.catalog import catalog_hash
from app.settings import Settings

ADAPTER_FILE = "adapter.gguf"
MANIFEST_FILE = "manifest.json"
CATALOG_KEY_LENGTH = 16


def adapter_dir_for(settings: Settings) -> Path:
    """The folder holding the adapter and manifest of the current catalog's fine-tune."""
    return settings.local.adapters_dir / catalog_hash(settings.catalog)[:CATALOG_KEY_LENGTH]


def adapter_path_for(settings: Settings) -> Path:
    """The llama.cpp LoRA GGUF for the current catalog (it may not exist yet)."""
    return adapter_dir_for(settings) / ADAPTER_FILE


def manifest_path_for(settings: Settings) -> Path:
    """The JSON manifest written beside the adapter."""
    return adapter_dir_for(settings) / MANIFEST_FILE
