"""Counting a chat prompt's tokens as llama.cpp will see it: the GGUF's own chat template,
rendered and tokenized the way llama-cpp-python's chat handler does."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from app.core.token_count import MESSAGE_OVERHEAD_TOKENS, PROMPT_OVERHEAD_TOKENS
from app.core.types import ChatMessage

DEFAULT_TEMPLATE = "chat_template.default"


@dataclass(frozen=True, slots=True)
class PromptCounter:
    """`count(messages)`: tokens of the rendered prompt; `exact` when the template is the GGUF's."""

    count: Callable[[Sequence[ChatMessage]], int]
    exact: bool


def _token_text(llama: Any, token_id: int) -> str:
    return str(llama._model.token_get_text(token_id)) if token_id != -1 else ""


def prompt_counter(llama: Any) -> PromptCounter:
    """Exact when llama.cpp formats prompts with the GGUF's template; else an estimate by content
    tokens plus the usual per-message markers (a named `chat_format` renders its own way)."""
    template = (getattr(llama, "metadata", None) or {}).get("tokenizer.chat_template")

    def tokens(text: str, add_bos: bool, special: bool) -> int:
        return len(llama.tokenize(text.encode("utf-8"), add_bos=add_bos, special=special))

    if getattr(llama, "chat_format", None) != DEFAULT_TEMPLATE or not template:

        def estimate(messages: Sequence[ChatMessage]) -> int:
            body = sum(MESSAGE_OVERHEAD_TOKENS + tokens(m.content, False, False) for m in messages)
            return PROMPT_OVERHEAD_TOKENS + body

        return PromptCounter(estimate, exact=False)

    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    eos_id, bos_id = int(llama.token_eos()), int(llama.token_bos())
    formatter = Jinja2ChatFormatter(
        template=template,
        eos_token=_token_text(llama, eos_id),
        bos_token=_token_text(llama, bos_id),
        stop_token_ids=[eos_id],
    )

    def exact(messages: Sequence[ChatMessage]) -> int:
        chat: list[Any] = [{"role": m.role, "content": m.content} for m in messages]
        rendered = formatter(messages=chat)
        # As the chat handler does: the template adds its own special tokens, no extra BOS.
        return tokens(rendered.prompt, not rendered.added_special, True)

    return PromptCounter(exact, exact=True)
