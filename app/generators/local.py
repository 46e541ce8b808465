"""The embedded generator: a GGUF model, with a LoRA adapter or not, run in-process by llama.cpp."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.core.bundled_models import smollm2_gguf_path
from app.core.errors import QuestionTooLong
from app.core.observability import current_record
from app.core.types import ChatMessage, TokenUsage
from app.generators.base import (
    Generation,
    GenerationEvent,
    GenerationParams,
    Generator,
    TextDelta,
)
from app.generators.limits import llama_cpp_limits
from app.generators.local_jobs import Job, JobControl, JobStopped, ModelWorker, QueueLimits
from app.generators.local_stops import generation_stops
from app.generators.local_tokenizer import LlamaTokenizer
from app.generators.local_weights import import_llama_cpp, runnable_weights
from app.generators.repetition import repetition_start
from app.settings import Settings

logger = logging.getLogger(__name__)

_END_OF_STREAM = object()
DEFAULT_QUEUE = QueueLimits(max_waiting=64, max_wait_s=60.0)


def _sampling(params: GenerationParams) -> dict[str, Any]:
    """The request's top_p, where it gives one (llama.cpp's default otherwise)."""
    return {} if params.top_p is None else {"top_p": params.top_p}


UNTUNED_SUFFIX = " (untuned)"
"""Appended to the base model's id when it stands in the tuned slot without an adapter."""


class AdapterMissing(RuntimeError):
    """The tuned model was asked for, but no adapter was trained for this catalog."""


def _to_llama_messages(messages: Sequence[ChatMessage]) -> list[dict[str, str]]:
    return [{"role": message.role, "content": message.content} for message in messages]


@dataclass(frozen=True, slots=True)
class _Answer:
    text: str
    finish_reason: str | None
    output_tokens: int


class LocalLlamaGenerator:
    """One llama.cpp model. A llama.cpp context is not thread-safe, so each model owns one worker
    thread (`ModelWorker`): calls queue there, the event loop never blocks, and a call whose
    client left or whose deadline passed stops at its next token."""

    name = "local"

    def __init__(
        self,
        llama: Any,
        model_id: str,
        timeout_s: float = 60.0,
        queue: QueueLimits = DEFAULT_QUEUE,
        repeat_penalty: float = 1.0,
        stops: Sequence[str] = (),
    ) -> None:
        self._llama = llama
        self.model_id = model_id
        self.repeat_penalty = repeat_penalty
        self.stops = list(stops)
        self.limits = llama_cpp_limits(int(llama.n_ctx()))
        self.worker = ModelWorker(model_id, timeout_s, queue)
        # Read by app.context: this model's own tokenizer decides what fits its n_ctx.
        self.tokenizer = LlamaTokenizer(llama)

    def _answer(
        self,
        messages: Sequence[ChatMessage],
        params: GenerationParams,
        control: JobControl,
        on_text: Callable[[str], None] | None,
    ) -> Generation:
        """One whole generation, run on the worker thread; stops when `control` says so."""
        answer = self._run(messages, params, control, on_text)
        if control.timed_out:
            raise self.worker.timed_out()
        if control.should_stop():
            raise JobStopped
        # Counted here, in the same job, so the answer never waits on another request's turn.
        prompt_tokens = self.tokenizer.count_prompt(messages)
        return Generation(
            text=answer.text.strip(),
            model=self.model_id,
            usage=TokenUsage(
                prompt_tokens, answer.output_tokens, estimated=not self.tokenizer.exact
            ),
            finish_reason=answer.finish_reason,
        )

    def _run(
        self,
        messages: Sequence[ChatMessage],
        params: GenerationParams,
        control: JobControl,
        on_text: Callable[[str], None] | None,
    ) -> _Answer:
        # Always streamed inside: between two tokens is where a generation can be stopped.
        chunks = self._llama.create_chat_completion(
            messages=_to_llama_messages(messages),
            max_tokens=params.max_tokens,
            temperature=params.temperature,
            repeat_penalty=self.repeat_penalty,
            # The template's own stop strings, and the request's (OpenAI's `stop`).
            stop=[*self.stops, *params.stop] or None,
            stream=True,
            **_sampling(params),
        )
        parts: list[str] = []
        finish_reason = None
        repeat_at: int | None = None
        try:
            for chunk in chunks:
                choice = chunk["choices"][0]
                text = choice["delta"].get("content") or ""
                if text:
                    parts.append(text)
                    if on_text is not None:
                        on_text(text)
                    repeat_at = _repeat_in(parts, text)
                finish_reason = choice.get("finish_reason") or finish_reason
                if repeat_at is not None or control.should_stop():
                    break
        except ValueError as error:  # llama.cpp's way of saying the prompt does not fit
            raise QuestionTooLong(
                f"the prompt does not fit the model's context of {self.limits.context_tokens} "
                "tokens with the answer asked for; shorten the question or lower max_tokens"
            ) from error
        finally:
            chunks.close()
        # One streamed chunk carries one token (a multi-byte character may take two).
        if repeat_at is not None:
            logger.info("%s stopped a repeating answer after %d tokens", self.model_id, len(parts))
            return _Answer("".join(parts)[:repeat_at], "repetition", len(parts))
        return _Answer("".join(parts), finish_reason, len(parts))

    def _note_wait(self, job: Job[Generation]) -> None:
        record = current_record.get()
        if record is not None:
            record.stages_ms[f"{self.model_id}.queue_wait"] = round(job.waited_s * 1000.0, 3)

    async def generate(
        self, messages: Sequence[ChatMessage], params: GenerationParams
    ) -> Generation:
        job = self.worker.submit(lambda control: self._answer(messages, params, control, None))
        try:
            return await self.worker.result(job)
        finally:
            self._note_wait(job)

    async def stream(
        self, messages: Sequence[ChatMessage], params: GenerationParams
    ) -> AsyncGenerator[GenerationEvent, None]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[object] = asyncio.Queue()

        def on_text(text: str) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, TextDelta(text))

        job = self.worker.submit(lambda control: self._answer(messages, params, control, on_text))
        # Deltas are scheduled on the loop before the job's result, so the end marker comes last.
        job.future.add_done_callback(lambda _: queue.put_nowait(_END_OF_STREAM))
        try:
            await self.worker.wait_started(job)
            self._note_wait(job)
            deadline = loop.time() + self.worker.timeout_s + 1.0
            while (item := await self._next(queue, deadline)) is not _END_OF_STREAM:
                assert isinstance(item, TextDelta)
                yield item
            yield job.future.result()
        finally:
            # Early exit (client gone, deadline): a queued job never runs, a running one stops at
            # its next token, so the model is free for the next request.
            if not job.future.done():
                job.cancel()

    async def _next(self, queue: asyncio.Queue[object], deadline: float) -> object:
        remaining = deadline - asyncio.get_running_loop().time()
        try:
            return await asyncio.wait_for(queue.get(), max(0.0, remaining))
        except TimeoutError as error:
            raise self.worker.timed_out() from error

    async def aclose(self) -> None:
        # The running job stops at its next token; the wait for it happens off the event loop.
        await self.worker.aclose()
        close = getattr(self._llama, "close", None)
        if callable(close):
            close()


def _repeat_in(parts: list[str], latest: str) -> int | None:
    """Where the answer so far starts repeating itself; checked when a word or sentence ends
    (a token holding something other than letters and digits), which is where a repeat shows."""
    if latest.isalnum():
        return None
    return repetition_start("".join(parts))


def load_llama(model_path: Path, settings: Settings, lora_path: Path | None = None) -> Any:
    """A llama.cpp model, with the LoRA adapter applied when one is given."""
    local = settings.local
    llama_cpp = import_llama_cpp()
    llama = llama_cpp.Llama(
        model_path=str(model_path),
        lora_path=str(lora_path) if lora_path else None,
        n_ctx=local.n_ctx,
        n_threads=local.n_threads or os.cpu_count() or 1,
        chat_format=local.chat_format,
        seed=0,
        verbose=False,
    )
    if local.prompt_cache_mb:
        # States of recent prompts: a prompt that shares its head (system prompt, template) with
        # one of them starts from that state instead of evaluating the head again.
        llama.set_cache(llama_cpp.LlamaRAMCache(capacity_bytes=local.prompt_cache_mb << 20))
    return llama


def resolve_adapter(settings: Settings) -> Path | None:
    """The tuned model's LoRA adapter: the configured one, or the one trained for the catalog.

    None when the catalog's adapter has not landed yet: the caller waits for it while a training
    runs, and refuses to start otherwise (unless FMT_LOCAL__REQUIRE_ADAPTER=false).
    """
    if settings.local.lora_path is not None:
        if not settings.local.lora_path.is_file():
            raise AdapterMissing(f"FMT_LOCAL__LORA_PATH {settings.local.lora_path} does not exist")
        return settings.local.lora_path
    from app.generators.lora_adapters import adapter_landed, adapter_path_for

    trained = adapter_path_for(settings)
    return trained if adapter_landed(trained) else None


def build_local_generator(settings: Settings, role: str) -> Generator:
    shipped = settings.local.model_path or smollm2_gguf_path()
    model_path = runnable_weights(shipped, settings.local.weights, settings.local.models_dir)
    base_id = shipped.stem if model_path == shipped else f"{shipped.stem}@f16"
    timeout_s = settings.generation.timeout_s
    queue = QueueLimits(settings.local.max_waiting, settings.local.max_queue_wait_s)
    penalty = settings.local.repeat_penalty

    def build(model_id: str, adapter: Path | None) -> LocalLlamaGenerator:
        llama = load_llama(model_path, settings, adapter)
        stops = generation_stops(settings, adapter)
        return LocalLlamaGenerator(llama, model_id, timeout_s, queue, penalty, stops)

    if role == "base":
        return build(base_id, None)
    adapter = resolve_adapter(settings)
    if adapter is not None:
        return build(f"{base_id}+lora:{adapter.parent.name}", adapter)
    from app.generators.local_tuned import AwaitedAdapterGenerator
    from app.generators.lora_adapters import (
        adapter_dir_for,
        adapter_path_for,
        progress_path_for,
        read_progress,
    )

    progress = read_progress(progress_path_for(settings))
    if progress is not None and progress.active:
        # Training in another process: wait for its adapter, answering 503 until it lands.
        tuned_id = f"{base_id}+lora:{adapter_dir_for(settings).name}"
        return AwaitedAdapterGenerator(
            build(f"{base_id} (tokenizer)", None),
            tuned_id,
            adapter_path_for(settings),
            progress_path_for(settings),
            lambda landed: build(tuned_id, landed),
            settings.local.adapter_poll_s,
        )
    if settings.local.require_adapter:
        raise AdapterMissing(
            f"no fine-tuned adapter for catalog {settings.catalog} (looked for "
            f"{adapter_path_for(settings)}) and no training under way; train one with "
            "`make finetune`, or set FMT_LOCAL__REQUIRE_ADAPTER=false to serve the untuned "
            "base model as the tuned one"
        )
    logger.warning("no adapter for this catalog: the tuned model is the untuned base")
    return build(f"{base_id}{UNTUNED_SUFFIX}", None)
