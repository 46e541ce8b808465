"""The LoRA training loop: seeded batch order, progress with loss, resumable checkpoints."""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from infra.finetune.sequences import TokenSequence, collate

logger = logging.getLogger(__name__)

StepCallback = Callable[[int, float], None]
EpochCallback = Callable[[int], bool]
"""Called after each epoch (numbered from 1) with the model in eval mode; True stops training."""


@dataclass(frozen=True, slots=True)
class TrainingPlan:
    epochs: int
    batch_size: int
    learning_rate: float
    warmup_steps: int
    weight_decay: float
    seed: int
    checkpoint_every_steps: int
    autocast: torch.dtype | None = None
    max_seconds: float | None = None


@dataclass(slots=True)
class TrainingResult:
    total_steps: int
    losses: list[float] = field(default_factory=list)
    resumed_from_step: int | None = None
    seconds: float = 0.0
    stopped_after_epoch: int | None = None
    out_of_time: bool = False


def steps_per_epoch(sequence_count: int, batch_size: int) -> int:
    return math.ceil(sequence_count / batch_size)


# Batches are cut from windows of this many batches sorted by length: much less padding, and
# still a fresh mix every epoch.
LENGTH_WINDOW_BATCHES = 8


def batch_indices(lengths: Sequence[int], plan: TrainingPlan, step: int) -> list[int]:
    """Which sequences make up a step's batch. Each epoch is a fresh seeded shuffle, grouped by
    length within windows and the batches shuffled again, so any step can be rebuilt after a
    resume without replaying the ones before it."""
    per_epoch = steps_per_epoch(len(lengths), plan.batch_size)
    epoch, position = divmod(step, per_epoch)
    generator = torch.Generator().manual_seed(plan.seed * 1_000_003 + epoch)
    order = torch.randperm(len(lengths), generator=generator).tolist()
    window = plan.batch_size * LENGTH_WINDOW_BATCHES
    grouped = [
        index
        for start in range(0, len(order), window)
        for index in sorted(order[start : start + window], key=lambda index: lengths[index])
    ]
    batches = [
        grouped[start : start + plan.batch_size]
        for start in range(0, len(grouped), plan.batch_size)
    ]
    batch_order = torch.randperm(len(batches), generator=generator).tolist()
    return batches[batch_order[position]]


def _schedule(plan: TrainingPlan, total_steps: int) -> Callable[[int], float]:
    def factor(step: int) -> float:
        if step < plan.warmup_steps:
            return (step + 1) / (plan.warmup_steps + 1)
        remaining = total_steps - plan.warmup_steps
        return max(0.05, 1.0 - (step - plan.warmup_steps) / max(1, remaining))

    return factor


def _trainable(model: Any) -> dict[str, torch.nn.Parameter]:
    return {name: param for name, param in model.named_parameters() if param.requires_grad}


def save_checkpoint(
    path: Path,
    step: int,
    fingerprint: str,
    model: Any,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    losses: list[float],
) -> None:
    """Everything a resumed run needs, written atomically so a kill never leaves half a file."""
    state = {
        "step": step,
        "fingerprint": fingerprint,
        "trainable": {name: param.detach().clone() for name, param in _trainable(model).items()},
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "rng": torch.get_rng_state(),
        "losses": list(losses),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    torch.save(state, partial)
    os.replace(partial, path)


def _restore(
    path: Path,
    fingerprint: str,
    model: Any,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
) -> tuple[int, list[float]] | None:
    if not path.is_file():
        return None
    state = torch.load(path, weights_only=True)
    if state.get("fingerprint") != fingerprint:
        logger.warning("checkpoint %s belongs to another run; starting afresh", path)
        return None
    parameters = _trainable(model)
    with torch.no_grad():
        for name, value in state["trainable"].items():
            parameters[name].copy_(value)
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["rng"])
    return int(state["step"]), [float(loss) for loss in state["losses"]]


def _optimize(
    model: Any,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    batch: dict[str, torch.Tensor],
    autocast: torch.dtype | None,
) -> float:
    """One optimizer step on one batch; returns its loss."""
    device = next(model.parameters()).device
    with torch.autocast(device.type, dtype=autocast, enabled=autocast is not None):
        loss = model(**{key: value.to(device) for key, value in batch.items()}).loss
    loss.backward()
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad(set_to_none=True)
    return float(loss.item())


def train(
    model: Any,
    sequences: Sequence[TokenSequence],
    pad_id: int,
    plan: TrainingPlan,
    checkpoint_path: Path,
    fingerprint: str,
    on_step: StepCallback | None = None,
    after_epoch: EpochCallback | None = None,
) -> TrainingResult:
    """Train the model's trainable (LoRA) parameters; resumes from `checkpoint_path` if it matches.

    `fingerprint` identifies the run (data, hyper-parameters, base model): a checkpoint with
    another fingerprint is ignored. `after_epoch` may end training early (early stopping).
    """
    total_steps = plan.epochs * steps_per_epoch(len(sequences), plan.batch_size)
    optimizer = torch.optim.AdamW(
        list(_trainable(model).values()), lr=plan.learning_rate, weight_decay=plan.weight_decay
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _schedule(plan, total_steps))
    torch.manual_seed(plan.seed)
    result = TrainingResult(total_steps=total_steps)
    restored = _restore(checkpoint_path, fingerprint, model, optimizer, scheduler)
    start_step = 0
    if restored is not None:
        start_step, result.losses = restored
        result.resumed_from_step = start_step
        logger.info("resuming from step %d of %d", start_step, total_steps)
    started = time.perf_counter()
    model.train()
    lengths = [len(sequence.input_ids) for sequence in sequences]
    progress = tqdm(total=total_steps, initial=start_step, desc="fine-tune", unit="step")
    try:
        for step in range(start_step, total_steps):
            batch = collate(
                [sequences[index] for index in batch_indices(lengths, plan, step)], pad_id
            )
            step_loss = _optimize(model, optimizer, scheduler, batch, plan.autocast)
            result.losses.append(step_loss)
            progress.update(1)
            progress.set_postfix(loss=f"{step_loss:.3f}")
            completed = step + 1
            if completed % plan.checkpoint_every_steps == 0 and completed < total_steps:
                save_checkpoint(
                    checkpoint_path,
                    completed,
                    fingerprint,
                    model,
                    optimizer,
                    scheduler,
                    result.losses,
                )
            if on_step is not None:
                on_step(completed, step_loss)
            per_epoch = steps_per_epoch(len(sequences), plan.batch_size)
            if after_epoch is not None and completed % per_epoch == 0:
                model.eval()
                stop = after_epoch(completed // per_epoch)
                model.train()
                if stop:
                    result.stopped_after_epoch = completed // per_epoch
                    break
            elapsed = time.perf_counter() - started
            if (
                plan.max_seconds is not None
                and elapsed > plan.max_seconds
                and completed < total_steps
            ):
                logger.info(
                    "time bound of %.0f s reached after step %d", plan.max_seconds, completed
                )
                result.out_of_time = True
                break
    finally:
        progress.close()
    model.eval()
    result.seconds = time.perf_counter() - started
    return result
