"""The local model's own `Tokenizer`: llama.cpp's vocabulary, and the GGUF's chat template
rendered the way llama-cpp-python's chat handler renders it."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache, partial
from typing import Any

from app.core.tokens import templated_prompt_tokens
from app.core.types import ChatMessage

DEFAULT_TEMPLATE = "chat_template.default"
# Catalog sentences, passage headers and system prompts come back request after request.
TEXT_CACHE = 16384


def _tokens(llama: Any, text: str) -> int:
    return len(llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))


def _special_token_text(llama: Any, token_id: int) -> str:
    return llama.detokenize([token_id], special=True).decode("utf-8") if token_id != -1 else ""


class LlamaTokenizer:
    """Counts with the model's vocabulary (reads it only: safe from any thread). `exact` when
    llama.cpp formats prompts with the GGUF's template; a named `chat_format` renders its own
    way, and prompts are then counted as their content plus the usual per-message markers.
    Its cache of counts holds the model: it goes when the tokenizer does."""

    def __init__(self, llama: Any, text_cache: int = TEXT_CACHE) -> None:
        self._llama = llama
        self._count = lru_cache(maxsize=text_cache)(partial(_tokens, llama))
        template: str | None = (llama.metadata or {}).get("tokenizer.chat_template")
        self.exact = bool(template) and llama.chat_format == DEFAULT_TEMPLATE
        self._formatter: Any = None
        if template and self.exact:
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            eos_id, bos_id = int(llama.token_eos()), int(llama.token_bos())
            self._formatter = Jinja2ChatFormatter(
                template=template,
                eos_token=_special_token_text(llama, eos_id),
                bos_token=_special_token_text(llama, bos_id),
                stop_token_ids=[eos_id],
            )

    def count(self, text: str) -> int:
        return self._count(text)

    def count_prompt(self, messages: Sequence[ChatMessage]) -> int:
        if self._formatter is None:
            return templated_prompt_tokens(self._count(m.content) for m in messages)
        chat: list[Any] = [{"role": m.role, "content": m.content} for m in messages]
        rendered = self._formatter(messages=chat)
        # As the chat handler does: the template adds its own special tokens, no extra BOS.
        prompt = rendered.prompt.encode("utf-8")
        return len(self._llama.tokenize(prompt, add_bos=not rendered.added_special, special=True))
