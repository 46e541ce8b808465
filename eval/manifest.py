"""The run manifest: what was measured, against what, with what, and when.

Its `identity` holds everything that makes two sessions' samples comparable; `--resume`
refuses to add to a run whose identity differs (see `identity_changes`).
"""

from __future__ import annotations

import hashlib
import json
import platform
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from eval.atomic import write_text_atomic
from eval.contract import ReadyResponse

PACKAGES = ("fm-tailor", "httpx", "bert-score", "torch", "transformers", "numpy", "boto3")
# Bumped when what a sample record means changes (a metric's definition, a prompt of a judge).
RUNNER_VERSION = "2"


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


def file_digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return "missing"


def run_identity(
    ready: ReadyResponse,
    testset_sha256: str,
    bertscore: str,
    judges: list[str],
    judge_mode: str,
    prices: Path,
    usage: Path,
) -> dict[str, Any]:
    """What the samples, scores and costs of a run depend on."""
    return {
        "runner_version": RUNNER_VERSION,
        "testset_sha256": testset_sha256,
        "backends": ready.backends.model_dump() if ready.backends else None,
        "bertscore": bertscore,
        "judges": sorted(judges),
        "judge_mode": judge_mode,
        "prices_sha256": file_digest(prices),
        "usage_sha256": file_digest(usage),
    }


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        flat: dict[str, Any] = {}
        for key, inner in value.items():
            flat.update(_flatten(inner, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    return {prefix: value}


def identity_changes(previous: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """One line per field that differs, e.g. `backends.models.tuned: 'a' -> 'b'`."""
    before, after = _flatten(previous), _flatten(current)
    return [
        f"{name}: {before.get(name, '(absent)')!r} -> {after.get(name, '(absent)')!r}"
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name)
    ]


def new_manifest(
    url: str,
    testset: Path,
    questions: int,
    strategies: list[str],
    identity: dict[str, Any],
    prices: Path,
    usage: Path,
    repeat: int = 1,
    ready: ReadyResponse | None = None,
) -> dict[str, Any]:
    """`service` keeps what else /ready said (fields this runner does not know, such as a
    prompt or settings digest), for `eval compare`; it is not part of the identity, since a
    service may report there what changes from call to call."""
    return {
        "service_url": url,
        "identity": identity,
        "backends": identity["backends"],
        "testset": str(testset),
        "testset_sha256": identity["testset_sha256"],
        "questions": questions,
        "strategies": strategies,
        "repeat": repeat,
        "service": (ready.model_extra or {}) if ready is not None else {},
        "judges": identity["judges"],
        "bertscore_model": identity["bertscore"],
        "prices": str(prices),
        "usage": str(usage),
        "started_at": now(),
        "finished_at": None,
        "resumed_at": [],
        "forced_resumes": [],
        "versions": versions(),
    }


def read_manifest(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    value = json.loads(path.read_text(encoding="utf-8"))
    return value if isinstance(value, dict) else None


def write_manifest(path: Path, manifest: dict[str, Any]) -> Path:
    text = json.dumps(manifest, indent=2, ensure_ascii=False, default=str) + "\n"
    return write_text_atomic(path, text)
