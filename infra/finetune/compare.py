"""Base vs tuned llama.cpp answers to reference questions: BERTScore and a paired test."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.core.bundled_models import smollm2_gguf_path
from app.settings import Settings
from app.strategies.templates import templates_from_settings
from eval.stats import Interval, PairedTest, bootstrap_interval, paired_test
from infra.finetune.facts import figures

# Answers as long as the reference ones; the served default is longer, which only adds tail.
MAX_ANSWER_TOKENS = 96

Scorer = Callable[[Sequence[str], Sequence[str]], list[float]]


@dataclass(frozen=True, slots=True)
class ComparedAnswer:
    question: str
    reference: str
    base: str
    tuned: str


@dataclass(frozen=True, slots=True)
class ComparedScores:
    """Per-question F1 of each model, their means with intervals, and tuned - base, paired."""

    base_f1: list[float]
    tuned_f1: list[float]
    base: Interval
    tuned: Interval
    difference: PairedTest
    figures: int
    base_figures: int
    tuned_figures: int


def figures_recalled(answer: ComparedAnswer, text: str) -> tuple[int, int]:
    """Of the reference's figures that the question does not give away, how many `text` has."""
    expected = figures(answer.reference) - figures(answer.question)
    return len(expected & figures(text)), len(expected)


def read_questions(path: Path, limit: int | None) -> list[tuple[str, str]]:
    records = json.loads(path.read_text(encoding="utf-8"))
    return [(str(item["question"]), str(item["answer"])) for item in records[:limit]]


def model_answers(
    settings: Settings, lora_path: Path | None, questions: Sequence[str]
) -> list[str]:
    """Greedy closed-book answers through the *finetuned* prompt, with the service's weights
    (F16-widened by default), repeat penalty and stop strings, so the comparison is its own."""
    from app.generators.local import load_llama
    from app.generators.local_stops import generation_stops
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
        reply = llm.create_chat_completion(
            messages=messages,
            max_tokens=MAX_ANSWER_TOKENS,
            temperature=0.0,
            repeat_penalty=settings.local.repeat_penalty,
            stop=generation_stops(settings, lora_path),
        )
        replies.append(str(reply["choices"][0]["message"]["content"]).strip())
    close = getattr(llm, "close", None)
    if callable(close):
        close()
    return replies


def compare_answers(
    settings: Settings, adapter_path: Path, questions: list[tuple[str, str]]
) -> list[ComparedAnswer]:
    """Greedy answers of the base model and of the base model with the adapter."""
    asked = [question for question, _ in questions]
    base = model_answers(settings, None, asked)
    tuned = model_answers(settings, adapter_path, asked)
    return [
        ComparedAnswer(question, reference, base_answer, tuned_answer)
        for (question, reference), base_answer, tuned_answer in zip(
            questions, base, tuned, strict=True
        )
    ]


def score_comparison(
    answers: Sequence[ComparedAnswer], scorer: Scorer, resamples: int, seed: int
) -> ComparedScores:
    """Both models scored against the references; the difference is tested question by question.

    BERTScore rewards an answer's form as much as its facts, so the exact figures recalled are
    counted too.
    """
    references = [answer.reference for answer in answers]
    base_f1 = scorer([answer.base for answer in answers], references)
    tuned_f1 = scorer([answer.tuned for answer in answers], references)
    base_recall = [figures_recalled(answer, answer.base) for answer in answers]
    tuned_recall = [figures_recalled(answer, answer.tuned) for answer in answers]
    return ComparedScores(
        base_f1=base_f1,
        tuned_f1=tuned_f1,
        base=bootstrap_interval(base_f1, resamples, seed),
        tuned=bootstrap_interval(tuned_f1, resamples, seed),
        difference=paired_test(
            "tuned",
            "base",
            "bertscore_f1",
            list(zip(tuned_f1, base_f1, strict=True)),
            resamples,
            seed,
        ),
        figures=sum(total for _, total in base_recall),
        base_figures=sum(found for found, _ in base_recall),
        tuned_figures=sum(found for found, _ in tuned_recall),
    )


def minilm_f1_scorer() -> Scorer:
    """The eval runner's offline BERTScore (MiniLM), so both tools measure alike."""
    from eval.metrics.bertscore import BertScorer
    from eval.settings import BertScoreSettings

    scorer = BertScorer(BertScoreSettings())

    def score(candidates: Sequence[str], references: Sequence[str]) -> list[float]:
        return [f1 for _, _, f1 in scorer.score(candidates, references)]

    return score
