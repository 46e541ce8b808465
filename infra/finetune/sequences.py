"""Token sequences from training examples: the prompt is masked, the target carries the loss."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from infra.finetune.examples import TrainingExample

IGNORED_LABEL = -100


@dataclass(frozen=True, slots=True)
class TokenSequence:
    input_ids: list[int]
    labels: list[int]

    @property
    def target_tokens(self) -> int:
        return sum(1 for label in self.labels if label != IGNORED_LABEL)


def chat_ids(tokenizer: Any, messages: list[dict[str, str]], generation_prompt: bool) -> list[int]:
    ids = tokenizer.apply_chat_template(
        messages, tokenize=True, add_generation_prompt=generation_prompt
    )
    # Newer transformers return a BatchEncoding here, older ones a plain list.
    if not isinstance(ids, list):
        ids = ids["input_ids"]
    return [int(token) for token in ids]


def tokenize_example(tokenizer: Any, example: TrainingExample, max_tokens: int) -> TokenSequence:
    """The example through the chat template (or raw text and end-of-text when it has no prompt)."""
    if not example.prompt:
        ids = [int(token) for token in tokenizer(example.target)["input_ids"]]
        ids.append(int(tokenizer.eos_token_id))
        ids = ids[:max_tokens]
        return TokenSequence(input_ids=ids, labels=list(ids))
    prompt = [{"role": message.role, "content": message.content} for message in example.prompt]
    prompt_ids = chat_ids(tokenizer, prompt, generation_prompt=True)
    full_ids = chat_ids(
        tokenizer, [*prompt, {"role": "assistant", "content": example.target}], False
    )
    if full_ids[: len(prompt_ids)] != prompt_ids:
        raise ValueError("the chat template renders the prompt differently inside a conversation")
    labels = [IGNORED_LABEL] * len(prompt_ids) + full_ids[len(prompt_ids) :]
    return TokenSequence(input_ids=full_ids[:max_tokens], labels=labels[:max_tokens])


def tokenize_examples(
    tokenizer: Any, examples: Sequence[TrainingExample], max_tokens: int
) -> list[TokenSequence]:
    """Every example tokenized; sequences left with no target token are dropped."""
    sequences = [tokenize_example(tokenizer, example, max_tokens) for example in examples]
    return [sequence for sequence in sequences if sequence.target_tokens > 0]


def collate(sequences: Sequence[TokenSequence], pad_id: int) -> dict[str, torch.Tensor]:
    """A right-padded batch; padding carries no loss.

    There is no attention mask on purpose: under causal attention a token only sees the tokens
    before it, and right padding only comes after the real ones, so a mask would change nothing
    but would force the slower masked attention kernel (about 10 % of a CPU step).
    """
    width = max(len(sequence.input_ids) for sequence in sequences)
    input_ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    labels = torch.full((len(sequences), width), IGNORED_LABEL, dtype=torch.long)
    for row, sequence in enumerate(sequences):
        length = len(sequence.input_ids)
        input_ids[row, :length] = torch.tensor(sequence.input_ids)
        labels[row, :length] = torch.tensor(sequence.labels)
    return {"input_ids": input_ids, "labels": labels}
