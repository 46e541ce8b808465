"""Perplexity of a causal language model over the target tokens of some sequences."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as functional

from infra.finetune.sequences import IGNORED_LABEL, TokenSequence, collate


def target_loss_sum(model: Any, batch: dict[str, torch.Tensor]) -> tuple[float, int]:
    """Summed next-token negative log-likelihood of the labelled tokens, and their count."""
    logits = model(input_ids=batch["input_ids"]).logits
    shifted_logits = logits[:, :-1, :].float()
    shifted_labels = batch["labels"][:, 1:]
    loss = functional.cross_entropy(
        shifted_logits.reshape(-1, shifted_logits.size(-1)),
        shifted_labels.reshape(-1),
        ignore_index=IGNORED_LABEL,
        reduction="sum",
    )
    return float(loss), int((shifted_labels != IGNORED_LABEL).sum())


def perplexity(
    model: Any, sequences: Sequence[TokenSequence], pad_id: int, batch_size: int = 8
) -> float | None:
    """exp(mean NLL per target token); None when there is nothing to measure."""
    if not sequences:
        return None
    was_training = model.training
    device = next(model.parameters()).device
    model.eval()
    total_loss, total_tokens = 0.0, 0
    with torch.inference_mode():
        for start in range(0, len(sequences), batch_size):
            batch = collate(sequences[start : start + batch_size], pad_id)
            batch = {key: value.to(device) for key, value in batch.items()}
            loss, tokens = target_loss_sum(model, batch)
            total_loss += loss
            total_tokens += tokens
    if was_training:
        model.train()
    if total_tokens == 0:
        return None
    return math.exp(total_loss / total_tokens)
