"""The run manifest: what was measured, against what, with what, and when."""

from __future__ import annotations

import json
import platform
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from app.http.schemas import ReadyResponse

PACKAGES = ("fm-tailor", "httpx", "bert-score", "torch", "transformers", "numpy", "boto3")


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in PACKAGES:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "not installed"
    return found


def new_manifest(
    url: str,
    testset: Path,
    testset_sha256: str,
    questions: int,
    strategies: list[str],
    judges: list[str],
    bertscore_model: str,
    ready: ReadyResponse,
) -> dict[str, Any]:
    return {
        "service_url": url,
        "backends": ready.backends.model_dump() if ready.backends else None,
        "testset": str(testset),
        "testset_sha256": testset_sha256,
        "questions": questions,
        "strategies": strategies,
        "judges": judges or [],
        "bertscore_model": bertscore_model,
        "started_at": now(),
        "finished_at": None,
        "resumed_at": [],
        "versions": versions(),
    }


def read_manifest(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    value = json.loads(path.read_text(encoding="utf-8"))
    return value if isinstance(value, dict) else None
