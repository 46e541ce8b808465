"""The local pipeline: catalog -> sequences -> LoRA on the CPU -> llama.cpp adapter + manifest."""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

from app.catalog import catalog_hash
from app.core.bundled_models import file_sha256, smollm2_gguf_path
from app.generators.lora_adapters import (
    MANIFEST_FILE,
    TRAINING_RECIPE,
    adapter_dir_for,
    adapter_path_for,
    manifest_path_for,
    progress_path_for,
)
from app.settings import Settings
from app.strategies.templates import templates_from_settings
from infra.finetune.examples import (
    TrainingExample,
    catalog_qa_examples,
    domain_examples,
    instruct_examples,
    plain_examples,
    split_examples,
)
from infra.finetune.gguf_export import lora_tensors, write_lora_gguf
from infra.finetune.manifest import (
    EpochFactRecall,
    FinetuneManifest,
    FinetuneMetrics,
    package_versions,
    summarize_losses,
)
from infra.finetune.model import (
    attach_lora,
    autocast_dtype,
    llama_shape,
    load_base_model,
    lora_state,
)
from infra.finetune.perplexity import perplexity
from infra.finetune.progress import ProgressReporter
from infra.finetune.recall import EarlyStopping, chosen_facts, early_stopping
from infra.finetune.sequences import TokenSequence, tokenize_examples
from infra.finetune.settings import LocalFinetuneSettings
from infra.finetune.training import (
    StepCallback,
    TrainingPlan,
    TrainingResult,
    steps_per_epoch,
    train,
)

logger = logging.getLogger(__name__)

# Perplexity of the training split is a memorization check; a sample keeps it cheap.
TRAIN_PERPLEXITY_SAMPLE = 32


@dataclass(frozen=True, slots=True)
class LocalOutcome:
    adapter_path: Path
    manifest: FinetuneManifest | None
    skipped: bool = False


def build_examples(settings: Settings, tune: LocalFinetuneSettings) -> list[TrainingExample]:
    """The examples the configured method trains on."""
    templates = templates_from_settings(settings.prompts)
    template = templates["finetuned"]
    if tune.method == "instruct":
        if tune.qa_file is None:
            raise ValueError("method=instruct needs FMT_FINETUNE__LOCAL__QA_FILE (or --qa-file)")
        return instruct_examples(tune.qa_file, template)
    if tune.text_format == "qa":
        return catalog_qa_examples(
            settings.catalog,
            template,
            tune.seed,
            templates["hybrid"],
            tune.reading_share,
            tune.paraphrases,
            chosen_facts(settings, tune),
        )
    if tune.text_format == "plain":
        return plain_examples(settings.catalog, tune.chunk_words)
    return domain_examples(settings.catalog, template, tune.topic_question, tune.chunk_words)


def run_fingerprint(base_sha: str, catalog_sha: str, tune: LocalFinetuneSettings) -> str:
    """Identifies a run: a checkpoint only resumes the run it was written by."""
    hyper = tune.model_dump(
        mode="json",
        exclude={"work_dir", "threads", "checkpoint_every_steps", "device", "profile"},
    )
    payload = json.dumps(
        {"base": base_sha, "catalog": catalog_sha, "recipe": TRAINING_RECIPE, "hyper": hyper},
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Measurements:
    """Perplexity of the held-out split and of a sample of the training split."""

    holdout: float | None
    train: float | None


@dataclass(frozen=True, slots=True)
class PreparedData:
    base_path: Path
    base_sha: str
    catalog_sha: str
    train: list[TokenSequence]
    holdout: list[TokenSequence]
    pad_id: int
    tokenizer: Any

    def measure(self, model: Any) -> Measurements:
        return Measurements(
            holdout=perplexity(model, self.holdout, self.pad_id),
            train=perplexity(model, self.train[:TRAIN_PERPLEXITY_SAMPLE], self.pad_id),
        )


def _plan(tune: LocalFinetuneSettings) -> TrainingPlan:
    return TrainingPlan(
        epochs=tune.epochs,
        batch_size=tune.batch_size,
        learning_rate=tune.learning_rate,
        warmup_steps=tune.warmup_steps,
        weight_decay=tune.weight_decay,
        seed=tune.seed,
        checkpoint_every_steps=tune.checkpoint_every_steps,
        autocast=autocast_dtype(tune.precision, tune.device),
        max_seconds=tune.max_train_s,
    )


def _prepare(settings: Settings, tune: LocalFinetuneSettings) -> tuple[PreparedData, Any]:
    """Hash the inputs, split the examples, load the model and tokenize; returns data and model."""
    base_path = settings.local.model_path or smollm2_gguf_path()
    split = split_examples(build_examples(settings, tune), tune.holdout_fraction, tune.seed)
    if tune.threads is not None:
        torch.set_num_threads(tune.threads)
    model, tokenizer = load_base_model(base_path, tune.device, settings.local.models_dir)
    data = PreparedData(
        base_path=base_path,
        base_sha=file_sha256(base_path),
        catalog_sha=catalog_hash(settings.catalog),
        train=tokenize_examples(tokenizer, split.train, tune.max_sequence_tokens),
        holdout=tokenize_examples(tokenizer, split.holdout, tune.max_sequence_tokens),
        pad_id=int(tokenizer.pad_token_id),
        tokenizer=tokenizer,
    )
    return data, model


def _manifest(
    settings: Settings,
    tune: LocalFinetuneSettings,
    data: PreparedData,
    before_after: tuple[Measurements, Measurements],
    result: TrainingResult,
    timings_s: dict[str, float],
    stopping: EarlyStopping | None,
    best_epoch: float | None,
) -> FinetuneManifest:
    before, after = before_after
    history = stopping.history if stopping is not None else []
    return FinetuneManifest(
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        base_model_path=str(data.base_path),
        base_model_sha256=data.base_sha,
        catalog_path=str(settings.catalog),
        catalog_sha256=data.catalog_sha,
        method=tune.method if tune.method == "instruct" else f"domain/{tune.text_format}",
        training_recipe=TRAINING_RECIPE,
        hyperparameters=tune.model_dump(mode="json", exclude={"work_dir"}),
        train_sequences=len(data.train),
        holdout_sequences=len(data.holdout),
        train_target_tokens=sum(sequence.target_tokens for sequence in data.train),
        metrics=FinetuneMetrics(
            holdout_perplexity_before=before.holdout,
            holdout_perplexity_after=after.holdout,
            train_perplexity_before=before.train,
            train_perplexity_after=after.train,
            loss=summarize_losses(result.losses, steps_per_epoch(len(data.train), tune.batch_size)),
            fact_recall=[
                EpochFactRecall(
                    epoch=entry.epoch, found=entry.found, total=entry.total, seconds=entry.seconds
                )
                for entry in history
            ],
            best_epoch=best_epoch,
        ),
        resumed_from_step=result.resumed_from_step,
        profile=tune.profile,
        timings_s=timings_s,
        versions=package_versions(),
    )


def run_local(
    settings: Settings,
    tune: LocalFinetuneSettings,
    if_missing: bool = False,
    on_step: StepCallback | None = None,
) -> LocalOutcome:
    """Fine-tune the embedded model on the catalog and write the adapter the service loads.

    Progress (state, step, total, ETA) goes to the progress file beside the adapter all along,
    `failed` included, so the service can tell a client when to come back.
    """
    adapter_path = adapter_path_for(settings)
    if if_missing and adapter_path.is_file() and manifest_path_for(settings).is_file():
        logger.info("adapter for this catalog exists: %s", adapter_path)
        return LocalOutcome(adapter_path, None, skipped=True)
    reporter = ProgressReporter(
        progress_path_for(settings), tune.profile, max_seconds=tune.max_train_s
    )
    reporter.state("loading")
    # A retrained adapter is not landed until its new manifest is written.
    manifest_path_for(settings).unlink(missing_ok=True)
    try:
        outcome = _train_and_export(settings, tune, reporter, on_step)
    except BaseException as error:
        reporter.state("failed", f"{type(error).__name__}: {error}")
        raise
    reporter.state("done", step=reporter.total_steps)
    return outcome


def _train_and_export(
    settings: Settings,
    tune: LocalFinetuneSettings,
    reporter: ProgressReporter,
    on_step: StepCallback | None,
) -> LocalOutcome:
    adapter_path = adapter_path_for(settings)
    started = time.perf_counter()
    data, model = _prepare(settings, tune)
    loaded = time.perf_counter()
    before = data.measure(model)
    logger.info("perplexity before: %s", before)
    peft_model = attach_lora(model, tune)
    checkpoint = tune.work_dir / data.catalog_sha[:16] / "checkpoint.pt"
    fingerprint = run_fingerprint(data.base_sha, data.catalog_sha, tune)
    stopping = early_stopping(settings, tune, peft_model, data.tokenizer)
    if stopping is not None and tune.probe_base:
        stopping.history.append(stopping.measure(0))
    reporter.begin_training(tune.epochs * steps_per_epoch(len(data.train), tune.batch_size))

    def step_done(completed: int, loss: float) -> None:
        reporter.step(completed, loss)
        if on_step is not None:
            on_step(completed, loss)

    result = train(
        peft_model,
        data.train,
        data.pad_id,
        _plan(tune),
        checkpoint,
        fingerprint,
        step_done,
        stopping,
    )
    per_epoch = steps_per_epoch(len(data.train), tune.batch_size)
    if stopping is not None and result.out_of_time and len(result.losses) % per_epoch:
        # Stopped inside an epoch: the weights reached are measured like an epoch's end.
        peft_model.eval()
        stopping(round(len(result.losses) / per_epoch, 2))
    reporter.state("exporting", step=len(result.losses))
    best_epoch = stopping.restore_best() if stopping is not None else None
    if best_epoch is not None:
        logger.info("keeping epoch %g, the best held-out fact recall", best_epoch)
    after = data.measure(peft_model)
    logger.info("perplexity after: %s", after)
    tensors = lora_tensors(lora_state(peft_model), llama_shape(model))
    write_lora_gguf(adapter_path, tensors, tune.alpha)
    peft_model.save_pretrained(str(adapter_dir_for(settings) / "peft"))
    timings = {
        "load": round(loaded - started, 1),
        "train": round(result.seconds, 1),
        "total": round(time.perf_counter() - started, 1),
    }
    manifest = _manifest(
        settings, tune, data, (before, after), result, timings, stopping, best_epoch
    )
    # Written last: the service takes an adapter with its manifest beside it as landed.
    manifest.write(manifest_path_for(settings))
    shutil.rmtree(checkpoint.parent, ignore_errors=True)
    logger.info("adapter written: %s", adapter_path)
    for folder in remove_superseded_adapters(settings):
        logger.info("removed the superseded adapter %s", folder)
    return LocalOutcome(adapter_path, manifest)


def remove_superseded_adapters(settings: Settings) -> list[Path]:
    """Delete the adapters trained earlier for this catalog path, on its earlier contents or by
    an earlier recipe: their key is gone, so nothing can serve them again (about 40 MB each).
    Other catalogs' adapters, and folders without a manifest (a training under way), are kept."""
    current = adapter_dir_for(settings)
    removed = []
    for manifest in sorted(settings.local.adapters_dir.glob(f"*/{MANIFEST_FILE}")):
        folder = manifest.parent
        if folder == current:
            continue
        try:
            recorded = json.loads(manifest.read_text(encoding="utf-8")).get("catalog_path")
        except (OSError, ValueError, AttributeError):
            continue
        if recorded == str(settings.catalog):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed
