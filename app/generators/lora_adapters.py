"""Where the local LoRA adapter trained for the configured catalog lies on disk, and how far its
training has got (the progress file the trainer writes beside it; the service only reads it)."""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from app.catalog import catalog_hash
from app.settings import Settings

ADAPTER_FILE = "adapter.gguf"
MANIFEST_FILE = "manifest.json"
PROGRESS_FILE = "progress.json"
ADAPTER_KEY_LENGTH = 16
TRAINING_RECIPE = "catalog-qa-2026-12-07c"
"""How infra/finetune builds an adapter's training data; changing it keys adapters afresh, so a
catalog's adapter trained the old way is retrained rather than served. Change it whenever what
an adapter learns from the same catalog changes."""

TrainingState = Literal["starting", "loading", "training", "exporting", "done", "failed"]
ACTIVE_STATES: frozenset[str] = frozenset({"starting", "loading", "training", "exporting"})


def adapter_dir_for(settings: Settings) -> Path:
    """The folder holding the adapter and manifest of the current catalog's fine-tune, by the
    current recipe."""
    key = hashlib.sha256(f"{catalog_hash(settings.catalog)}:{TRAINING_RECIPE}".encode())
    return settings.local.adapters_dir / key.hexdigest()[:ADAPTER_KEY_LENGTH]


def adapter_path_for(settings: Settings) -> Path:
    """The llama.cpp LoRA GGUF for the current catalog (it may not exist yet)."""
    return adapter_dir_for(settings) / ADAPTER_FILE


def manifest_path_for(settings: Settings) -> Path:
    """The JSON manifest written beside the adapter."""
    return adapter_dir_for(settings) / MANIFEST_FILE


def progress_path_for(settings: Settings) -> Path:
    """The training's progress file, beside where the adapter will land."""
    return adapter_dir_for(settings) / PROGRESS_FILE


def adapter_landed(adapter_path: Path) -> bool:
    """The adapter is complete: the trainer writes the manifest after the adapter, last."""
    return adapter_path.is_file() and (adapter_path.parent / MANIFEST_FILE).is_file()


@dataclass(frozen=True, slots=True)
class TrainingProgress:
    """One snapshot of a training run: what it does, its step of how many, and the time left."""

    state: TrainingState
    step: int = 0
    total_steps: int = 0
    eta_s: float | None = None
    pid: int | None = None
    profile: str | None = None
    message: str | None = None
    updated_at: float = 0.0

    @property
    def active(self) -> bool:
        """Still running: an active state, written by a process that is still alive."""
        return self.state in ACTIVE_STATES and _alive(self.pid)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"


def _alive(pid: int | None) -> bool:
    if pid is None:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    return True


def read_progress(path: Path) -> TrainingProgress | None:
    """The last snapshot written, or None when there is none (or it cannot be read)."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        return TrainingProgress(**record)
    except (OSError, ValueError, TypeError):
        return None


def write_progress(path: Path, progress: TrainingProgress) -> None:
    """Atomically, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    stamped = TrainingProgress(**{**asdict(progress), "updated_at": round(time.time(), 3)})
    partial.write_text(stamped.to_json(), encoding="utf-8")
    os.replace(partial, path)
