"""The context budget: every prompt fits its model; only a question that cannot fit is refused."""

from __future__ import annotations

import pytest

from app.context.fitting import fit_prompt
from app.context.policy import generator_window
from app.core.errors import QuestionTooLong
from app.core.token_count import estimated_window
from app.core.types import Passage
from app.generators.base import GenerationLimits, Interval
from app.settings import PromptSettings
from app.strategies.templates import templates_from_settings
from app.wiring.fakes import FakeGenerator

RAG = templates_from_settings(PromptSettings())["rag"]
FINETUNED = templates_from_settings(PromptSettings())["finetuned"]
PASSAGES = [
    (
        rank,
        Passage(
            id=f"p{rank}",
            title="Kestrel KX-420 Hydraulic Press",
            text=" ".join(f"Fact {rank}.{n} says the press holds {n} bar." for n in range(12)),
            score=1.0 / (rank + 1),
            location=f"catalog.txt#{rank}",
        ),
    )
    for rank in range(20)
]


def _words(count: int) -> str:
    return " ".join(["oil"] * count)


def test_everything_fits_a_large_window_untouched() -> None:
    fitted = fit_prompt(RAG, "What pressure?", PASSAGES[:3], estimated_window(8192), 256, 16)
    assert not fitted.truncated
    assert [rank for rank, _ in fitted.kept] == [0, 1, 2]


def test_over_budget_the_lowest_ranked_go_first_then_the_last_is_trimmed() -> None:
    window = estimated_window(1024)
    fitted = fit_prompt(RAG, "What pressure?", PASSAGES, window, 256, 16)

    assert fitted.truncated
    ranks = [rank for rank, _ in fitted.kept]
    assert ranks == list(range(len(ranks))) and 0 < len(ranks) < 20
    assert window.tokenizer.count_prompt(fitted.messages) <= 1024 - 256 - 16
    assert fitted.kept[-1][1].text.endswith("…")
    assert all(not p.text.endswith("…") for _, p in fitted.kept[:-1])


def test_a_longer_answer_leaves_room_for_fewer_passages() -> None:
    window = estimated_window(2048)
    short = fit_prompt(RAG, "What pressure?", PASSAGES, window, 128, 16)
    long = fit_prompt(RAG, "What pressure?", PASSAGES, window, 1024, 16)
    assert len(long.kept) < len(short.kept)


def test_a_question_that_cannot_fit_alone_is_refused_with_how_long_it_may_be() -> None:
    window = estimated_window(512)
    with pytest.raises(QuestionTooLong) as refused:
        fit_prompt(FINETUNED, _words(600), [], window, 256, 16)
    message = refused.value.message
    assert "question is 600 tokens" in message
    assert refused.value.status_code == 422
    allowed = int(message.split("leaves room for ")[1].split()[0])
    # A question of the length the message allows is answered.
    fit_prompt(FINETUNED, _words(allowed), [], window, 256, 16)
    with pytest.raises(QuestionTooLong):
        fit_prompt(FINETUNED, _words(allowed + 1), [], window, 256, 16)


def test_a_question_that_fits_only_without_passages_gets_none() -> None:
    window = estimated_window(700)
    limit = 700 - 256 - 16
    # The longest question that leaves fewer tokens than the smallest trimmed passage needs.
    words = max(
        n for n in range(400) if window.tokenizer.count_prompt(RAG.render(_words(n))) <= limit - 5
    )
    fitted = fit_prompt(RAG, _words(words), PASSAGES, window, 256, 16)
    assert fitted.truncated and fitted.kept == []


def test_a_remote_generators_window_is_the_context_length_it_declares() -> None:
    limits = GenerationLimits(Interval(0.0, 1.0), Interval(0.0, 1.0), 2048, 128000)
    remote = FakeGenerator(model_id="us.meta.llama3-1-8b-instruct-v1:0", limits=limits)
    assert generator_window(remote).tokens == 128000
    small = FakeGenerator(
        limits=GenerationLimits(Interval(0.0, 1.0), Interval(0.0, 1.0), 512, 4096)
    )
    assert generator_window(small).tokens == 4096
