"""The embedded generator: a GGUF model, with a LoRA adapter or not, run in-process by llama.cpp."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from app.backends.bundled_models import smollm2_gguf_path
from app.errors import BackendError, BackendTimeout
from app.generators.base import (
    ChatMessage,
    Generation,
    GenerationEvent,
    GenerationParams,
    TextDelta,
    TokenUsage,
)
from app.generators.limits import llama_cpp_limits
from app.generators.local_weights import import_llama_cpp, runnable_weights
from app.settings import Settings

logger = logging.getLogger(__name__)

_END_OF_STREAM = object()


class AdapterMissing(RuntimeError):
    """The tuned model was asked for, but no adapter was trained for this catalog."""


def _to_llama_messages(messages: Sequence[ChatMessage]) -> list[dict[str, str]]:
    return [{"role": message.role, "content": message.content} for message in messages]


class LocalLlamaGenerator:
    """One llama.cpp model. A llama.cpp context is not thread-safe, so each model owns a
    one-thread executor: calls queue there and the event loop never blocks."""

    name = "local"

    def __init__(
        self, llama: Any, model_id: str, timeout_s: float = 60.0, context_tokens: int = 2048
    ) -> None:
        self._llama = llama
        self.model_id = model_id
        self.limits = llama_cpp_limits(context_tokens)
        self._timeout_s = timeout_s
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"llama-{model_id}")

    def _complete(self, messages: Sequence[ChatMessage], params: GenerationParams) -> Generation:
        try:
            reply = self._llama.create_chat_completion(
                messages=_to_llama_messages(messages),
                max_tokens=params.max_tokens,
                temperature=params.temperature,
            )
        except ValueError as error:  # llama.cpp's way of saying the prompt does not fit
            raise BackendError(f"local model refused the prompt: {error}") from error
        choice = reply["choices"][0]
        usage = reply.get("usage") or {}
        return Generation(
            text=(choice["message"].get("content") or "").strip(),
            model=self.model_id,
            usage=TokenUsage(
                input_tokens=int(usage.get("prompt_tokens", 0)),
                output_tokens=int(usage.get("completion_tokens", 0)),
            ),
            finish_reason=choice.get("finish_reason"),
        )

    async def generate(
        self, messages: Sequence[ChatMessage], params: GenerationParams
    ) -> Generation:
        loop = asyncio.get_running_loop()
        job = loop.run_in_executor(self._executor, self._complete, messages, params)
        try:
            # On timeout a call still waiting in the queue is cancelled and never runs.
            return await asyncio.wait_for(job, self._timeout_s)
        except TimeoutError as error:
            raise self._timed_out() from error

    def _timed_out(self) -> BackendTimeout:
        return BackendTimeout(
            f"local model {self.model_id} gave no answer within {self._timeout_s:g} s "
            "(FMT_GENERATION__TIMEOUT_S); it answers one request at a time"
        )

    def _stream_chunks(
        self, messages: Sequence[ChatMessage], params: GenerationParams, cancelled: threading.Event
    ) -> Iterator[tuple[str, str | None]]:
        try:
            chunks = self._llama.create_chat_completion(
                messages=_to_llama_messages(messages),
                max_tokens=params.max_tokens,
                temperature=params.temperature,
                stream=True,
            )
        except ValueError as error:
            raise BackendError(f"local model refused the prompt: {error}") from error
        for chunk in chunks:
            if cancelled.is_set():
                chunks.close()
                return
            choice = chunk["choices"][0]
            yield choice["delta"].get("content") or "", choice.get("finish_reason")

    async def _next(self, queue: asyncio.Queue[object], deadline: float) -> object:
        remaining = deadline - asyncio.get_running_loop().time()
        try:
            return await asyncio.wait_for(queue.get(), max(0.0, remaining))
        except TimeoutError as error:
            raise self._timed_out() from error

    def _count_prompt_tokens(self, messages: Sequence[ChatMessage]) -> int:
        text = "\n".join(message.content for message in messages)
        return len(self._llama.tokenize(text.encode("utf-8"), add_bos=True, special=False))

    async def stream(
        self, messages: Sequence[ChatMessage], params: GenerationParams
    ) -> AsyncIterator[GenerationEvent]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[object] = asyncio.Queue()
        cancelled = threading.Event()

        def produce() -> None:
            try:
                for item in self._stream_chunks(messages, params, cancelled):
                    loop.call_soon_threadsafe(queue.put_nowait, item)
            except BaseException as error:  # handed to the consumer, raised there
                loop.call_soon_threadsafe(queue.put_nowait, error)
            finally:
                loop.call_soon_threadsafe(queue.put_nowait, _END_OF_STREAM)

        worker = loop.run_in_executor(self._executor, produce)
        deadline = loop.time() + self._timeout_s
        parts: list[str] = []
        chunk_count, finish_reason = 0, None
        try:
            while (item := await self._next(queue, deadline)) is not _END_OF_STREAM:
                if isinstance(item, BaseException):
                    raise item
                assert isinstance(item, tuple)
                text: str = item[0]
                finish_reason = item[1]
                chunk_count += 1
                if text:
                    parts.append(text)
                    yield TextDelta(text)
        finally:
            # Early exit (client gone, deadline): a queued job never runs, a running one stops at
            # its next token, so the model is free for the next request.
            cancelled.set()
            worker.cancel()
        prompt_tokens = await loop.run_in_executor(
            self._executor, self._count_prompt_tokens, messages
        )
        yield Generation(
            text="".join(parts).strip(),
            model=self.model_id,
            # llama.cpp streams one token a chunk (the last one carries only the finish reason)
            # but reports no prompt count when streaming, so both are counted here.
            usage=TokenUsage(prompt_tokens, max(0, chunk_count - 1), estimated=True),
            finish_reason=finish_reason,
        )

    async def aclose(self) -> None:
        self._executor.shutdown(wait=True)
        close = getattr(self._llama, "close", None)
        if callable(close):
            close()


def load_llama(model_path: Path, settings: Settings, lora_path: Path | None = None) -> Any:
    """A llama.cpp model, with the LoRA adapter applied when one is given."""
    local = settings.local
    return import_llama_cpp().Llama(
        model_path=str(model_path),
        lora_path=str(lora_path) if lora_path else None,
        n_ctx=local.n_ctx,
        n_threads=local.n_threads or os.cpu_count() or 1,
        chat_format=local.chat_format,
        seed=0,
        verbose=False,
    )


def resolve_adapter(settings: Settings) -> Path | None:
    """The tuned model's LoRA adapter: the configured one, or the one trained for the catalog."""
    if settings.local.lora_path is not None:
        if not settings.local.lora_path.is_file():
            raise AdapterMissing(f"FMT_LOCAL__LORA_PATH {settings.local.lora_path} does not exist")
        return settings.local.lora_path
    from app.backends.lora_adapters import adapter_path_for

    trained = adapter_path_for(settings)
    if trained.is_file():
        return trained
    if settings.local.require_adapter:
        raise AdapterMissing(
            f"no fine-tuned adapter for catalog {settings.catalog} (looked for {trained}); "
            "train one with `make finetune`, or set FMT_LOCAL__REQUIRE_ADAPTER=false "
            "to serve the untuned base model as the tuned one"
        )
    logger.warning("no adapter for this catalog: the tuned model is the untuned base")
    return None


def build_local_generator(settings: Settings, role: str) -> LocalLlamaGenerator:
    shipped = settings.local.model_path or smollm2_gguf_path()
    model_path = runnable_weights(shipped, settings.local.weights, settings.local.models_dir)
    base_id = shipped.stem if model_path == shipped else f"{shipped.stem}@f16"
    timeout_s, n_ctx = settings.generation.timeout_s, settings.local.n_ctx
    if role == "base":
        return LocalLlamaGenerator(load_llama(model_path, settings), base_id, timeout_s, n_ctx)
    adapter = resolve_adapter(settings)
    if adapter is None:
        untuned_id = f"{base_id} (untuned)"
        return LocalLlamaGenerator(load_llama(model_path, settings), untuned_id, timeout_s, n_ctx)
    model_id = f"{base_id}+lora:{adapter.parent.name}"
    llama = load_llama(model_path, settings, adapter)
    return LocalLlamaGenerator(llama, model_id, timeout_s, n_ctx)
