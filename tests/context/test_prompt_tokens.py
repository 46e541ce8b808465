"""A prompt counted from its pieces counts what the rendered prompt counts, joins included."""

from __future__ import annotations

import random

import pytest

from app.context.prompt_tokens import PromptTokens
from app.context.prompts import PromptTemplate
from app.core.token_count import estimate_text_tokens, joins
from app.core.types import Passage
from app.core.window import ContextWindow, estimated_window

# Letters, digits and symbols, ASCII and not, meeting at every kind of piece boundary.
CHARACTERS = "ab Z9 0_.,-\n\té²ß…Ünï12x{}"
TEMPLATES = [
    PromptTemplate("Answer from the excerpts.", "Excerpts:\n{context}\n\nQuestion: {question}"),
    PromptTemplate("", "Q:{question}\n{context}"),
    PromptTemplate("Sys {question}", "ctx{context}q{question}end", "{index}{title}{section}{text}"),
    PromptTemplate("  ", "{context}{question}", "[{index}]{text}{index}"),
    PromptTemplate("Café {context}", "7{question}7 {context}é", "{title}{index}{section}\n{text}x"),
]


def _text(generator: random.Random, longest: int) -> str:
    return "".join(generator.choice(CHARACTERS) for _ in range(generator.randint(0, longest)))


def _passages(generator: random.Random) -> list[Passage]:
    return [
        Passage(
            id=f"p{rank}",
            title=_text(generator, 8),
            text=_text(generator, 30) or "x",
            score=1.0,
            location=f"c#{rank}",
            section=generator.choice([None, "", _text(generator, 6)]),
        )
        for rank in range(generator.randint(0, 4))
    ]


def test_texts_that_do_not_join_count_as_their_sum() -> None:
    generator = random.Random(1)
    for _ in range(20_000):
        left, right = _text(generator, 6), _text(generator, 6)
        if left and right and joins(left, right):
            continue
        assert estimate_text_tokens(left + right) == (
            estimate_text_tokens(left) + estimate_text_tokens(right)
        )


@pytest.mark.parametrize("template", TEMPLATES)
def test_summed_counts_equal_the_rendered_prompts(template: PromptTemplate) -> None:
    generator = random.Random(2)
    window = estimated_window(4096)
    for _ in range(400):
        question = _text(generator, 12)
        passages = _passages(generator)
        expected = window.prompt_tokens(template.render(question, passages))
        assert PromptTokens(template, question, window).tokens(passages) == expected


def test_a_window_with_its_own_prompt_count_counts_the_rendered_prompt() -> None:
    seen: list[int] = []

    def count_prompt(messages: object) -> int:
        seen.append(1)
        return 42

    window = ContextWindow(100, len, count_prompt, exact=True)
    prompt = PromptTokens(TEMPLATES[0], "What pressure?", window)
    assert prompt.tokens([]) == 42
    assert prompt.tokens([]) == 42
    assert seen == [1]  # the same prompt is counted once
