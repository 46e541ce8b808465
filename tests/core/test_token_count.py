"""Token estimates for backends that report none: close to a real tokenizer, marked estimated."""

from __future__ import annotations

import pytest

from app.core.bundled_models import smollm2_gguf_path
from app.core.token_count import estimate_prompt_tokens, estimate_text_tokens, estimated_usage
from app.core.types import ChatMessage
from app.settings import PROJECT_ROOT


def test_counts_words_symbols_and_digit_groups() -> None:
    assert estimate_text_tokens("") == 0
    assert estimate_text_tokens("Set the feed") == 3
    assert estimate_text_tokens("210 bar.") == 3
    assert estimate_text_tokens("1234567") == 3  # digits go in groups of three
    assert estimate_text_tokens("hydraulic") == 2  # long words cost more than one


def test_a_prompt_costs_its_text_and_the_chat_markers() -> None:
    messages = [ChatMessage("system", "Be brief."), ChatMessage("user", "KX-420 pressure?")]
    text_only = estimate_text_tokens("Be brief.") + estimate_text_tokens("KX-420 pressure?")

    assert estimate_prompt_tokens(messages) > text_only
    usage = estimated_usage(messages, "210 bar.")
    assert usage.estimated is True
    assert usage.output_tokens == 3


@pytest.mark.slow
def test_the_estimate_is_close_to_a_real_tokenizer_on_the_catalog() -> None:
    llama_cpp = pytest.importorskip("llama_cpp")
    tokenizer = llama_cpp.Llama(model_path=str(smollm2_gguf_path()), vocab_only=True, verbose=False)
    text = (PROJECT_ROOT / "data" / "kb" / "catalog.txt").read_text(encoding="utf-8")
    paragraphs = [paragraph for paragraph in text.split("\n\n") if len(paragraph) > 40]

    counted = sum(len(tokenizer.tokenize(p.encode(), add_bos=False)) for p in paragraphs)
    estimated = sum(estimate_text_tokens(p) for p in paragraphs)

    assert 0.9 <= estimated / counted <= 1.1
