"""Closed-book fact recall while training: greedy answers to held-out paraphrases, early stopping.

Perplexity says how likely the catalog's sentences have become, not whether the model states a
fact when asked in words it never saw. After every epoch the model answers a fixed sample of
held-out paraphrases (`FactProbe`) through the served prompt, greedily, as the service would; the
figures stated are the recall that decides when to stop and which epoch's adapter to keep.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from app.context.prompts import PromptTemplate
from app.settings import Settings
from app.strategies.templates import templates_from_settings
from infra.finetune.catalog_qa import CatalogFact, catalog_facts
from infra.finetune.facts import FactProbe, probes, recall
from infra.finetune.sequences import chat_ids
from infra.finetune.settings import LocalFinetuneSettings

logger = logging.getLogger(__name__)

PROBE_ANSWER_TOKENS = 48
"""The catalog's facts are one sentence; a figure said later than this is not an answer."""
PROBE_BATCH = 16


def sample_probes(probes: Sequence[FactProbe], count: int, seed: int) -> list[FactProbe]:
    """A seeded sample, the same for every run over the same catalog."""
    chosen = list(probes)
    random.Random(seed).shuffle(chosen)
    return chosen[:count]


@torch.no_grad()
def greedy_answers(
    model: Any, tokenizer: Any, prompts: Sequence[list[dict[str, str]]], max_new_tokens: int
) -> list[str]:
    """Greedy answers to chat prompts, batched with left padding, stopping at end of turn."""
    device = next(model.parameters()).device
    pad_id = int(tokenizer.pad_token_id)
    answers: list[str] = []
    for start in range(0, len(prompts), PROBE_BATCH):
        batch = [
            chat_ids(tokenizer, prompt, True) for prompt in prompts[start : start + PROBE_BATCH]
        ]
        width = max(len(ids) for ids in batch)
        input_ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
        attention = torch.zeros((len(batch), width), dtype=torch.long)
        for row, ids in enumerate(batch):
            input_ids[row, width - len(ids) :] = torch.tensor(ids)
            attention[row, width - len(ids) :] = 1
        output = model.generate(
            input_ids=input_ids.to(device),
            attention_mask=attention.to(device),
            max_new_tokens=max_new_tokens,
            do_sample=False,
            eos_token_id=int(tokenizer.eos_token_id),
            pad_token_id=pad_id,
        )
        for row in output[:, width:]:
            answers.append(tokenizer.decode(row, skip_special_tokens=True).strip())
    return answers


@dataclass(slots=True)
class EpochRecall:
    epoch: float
    found: int
    total: int
    seconds: float

    @property
    def recall(self) -> float:
        return self.found / self.total if self.total else 0.0


@dataclass(slots=True)
class EarlyStopping:
    """After each epoch: the probes' recall; keeps the best epoch's trainable weights, and says
    stop after `patience` epochs without a better recall, or once every probe is recalled (no
    later epoch could be kept: only a better recall replaces the best)."""

    model: Any
    tokenizer: Any
    template: PromptTemplate
    probes: list[FactProbe]
    patience: int
    history: list[EpochRecall] = field(default_factory=list)
    best_state: dict[str, torch.Tensor] | None = None

    def measure(self, epoch: float) -> EpochRecall:
        started = time.perf_counter()
        prompts = [
            [{"role": m.role, "content": m.content} for m in self.template.render(probe.question)]
            for probe in self.probes
        ]
        answers = greedy_answers(self.model, self.tokenizer, prompts, PROBE_ANSWER_TOKENS)
        found, total = recall(answers, self.probes)
        measured = EpochRecall(epoch, found, total, round(time.perf_counter() - started, 1))
        logger.info(
            "epoch %g: held-out fact recall %d of %d (%.3f), measured in %.1f s",
            epoch,
            found,
            total,
            measured.recall,
            measured.seconds,
        )
        return measured

    def __call__(self, epoch: float) -> bool:
        measured = self.measure(epoch)
        best = max((entry.found for entry in self.history), default=-1)
        self.history.append(measured)
        if measured.found > best:
            self.best_state = {
                name: param.detach().clone()
                for name, param in self.model.named_parameters()
                if param.requires_grad
            }
            return measured.found >= measured.total > 0
        since_best = len(self.history) - 1 - self._best_index()
        return since_best >= self.patience

    def _best_index(self) -> int:
        best = max(entry.found for entry in self.history)
        return next(i for i, entry in enumerate(self.history) if entry.found == best)

    def restore_best(self) -> float | None:
        """Put the best epoch's weights back; returns that epoch (None if none measured)."""
        if self.best_state is None or not self.history:
            return None
        parameters = dict(self.model.named_parameters())
        with torch.no_grad():
            for name, value in self.best_state.items():
                parameters[name].copy_(value)
        return self.history[self._best_index()].epoch


def probe_order(settings: Settings, tune: LocalFinetuneSettings) -> list[FactProbe]:
    """Every trained fact's held-out probe, in a seeded order (the same in every run)."""
    everything = probes(catalog_facts(settings.catalog), tune.paraphrases, tune.seed)
    return sample_probes(everything, len(everything), tune.seed)


def chosen_facts(settings: Settings, tune: LocalFinetuneSettings) -> set[CatalogFact] | None:
    """With `fact_limit`: the facts of the first probes of the seeded order; else all (None)."""
    if tune.fact_limit is None:
        return None
    limited = probe_order(settings, tune)[: tune.fact_limit]
    chosen = {(probe.product, probe.reference) for probe in limited}
    return {fact for fact in catalog_facts(settings.catalog) if (fact.product, fact.text) in chosen}


def early_stopping(
    settings: Settings, tune: LocalFinetuneSettings, model: Any, tokenizer: Any
) -> EarlyStopping | None:
    """Held-out paraphrases of a seeded sample of the trained facts, for qa training only."""
    if tune.method != "domain" or tune.text_format != "qa" or tune.probe_facts == 0:
        return None
    chosen = probe_order(settings, tune)[: min(tune.probe_facts, tune.fact_limit or 10**9)]
    template = templates_from_settings(settings.prompts)["finetuned"]
    return EarlyStopping(model, tokenizer, template, chosen, tune.patience)
