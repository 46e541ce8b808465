"""The local tuned model before its adapter exists: it waits for the adapter, then serves with it.

`make run` serves as soon as the index is built while the adapter trains in another process. Until
the adapter lands the tuned strategies answer 503 `adapter_training` (Retry-After from the
trainer's progress file), never with the untuned model under the tuned model's name. A watcher
thread polls for the adapter and loads it when the trainer has written it; from then on every call
goes to the tuned model, with no restart.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
from collections.abc import AsyncGenerator, Callable, Sequence
from pathlib import Path

from app.core.errors import AdapterTraining, AdapterUnavailable
from app.core.types import ChatMessage
from app.generators.base import Generation, GenerationEvent, GenerationParams
from app.generators.local import LocalLlamaGenerator
from app.generators.lora_adapters import TrainingProgress, adapter_landed, read_progress

logger = logging.getLogger(__name__)

MIN_RETRY_S = 5
MAX_RETRY_S = 600


def describe(progress: TrainingProgress) -> str:
    """`training, step 12 of 80, about 95 s left` (for /ready and the 503's message)."""
    parts: list[str] = [progress.state]
    if progress.total_steps:
        parts.append(f"step {progress.step} of {progress.total_steps}")
    if progress.eta_s is not None:
        parts.append(f"about {math.ceil(progress.eta_s)} s left")
    return ", ".join(parts)


class AwaitedAdapterGenerator:
    """Stands for the tuned model until its adapter lands, then hands every call to it.

    `counter` is the base model: it lends its tokenizer and limits (the adapter changes neither)
    so prompts can be fitted before the tuned model exists, and it never answers.
    """

    name = "local"

    def __init__(
        self,
        counter: LocalLlamaGenerator,
        model_id: str,
        adapter_path: Path,
        progress_path: Path,
        load: Callable[[Path], LocalLlamaGenerator],
        poll_s: float = 2.0,
    ) -> None:
        self.model_id = model_id
        self.limits = counter.limits
        self.tokenizer = counter.tokenizer
        self.adapter_path = adapter_path
        self.progress_path = progress_path
        self.landed = threading.Event()
        """Set once the adapter is loaded (or failed to load): tests and /ready wait on it."""
        self._counter = counter
        self._load = load
        self._poll_s = poll_s
        self._tuned: LocalLlamaGenerator | None = None
        self._load_error: str | None = None
        self._closing = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name="adapter-watch", daemon=True)
        self._watcher.start()

    def _watch(self) -> None:
        while not self._closing.is_set():
            if adapter_landed(self.adapter_path):
                self._take(self.adapter_path)
                return
            self._closing.wait(self._poll_s)

    def _take(self, adapter_path: Path) -> None:
        try:
            tuned = self._load(adapter_path)
        except (OSError, ValueError, RuntimeError) as error:  # llama.cpp refuses a bad file
            logger.error("the adapter %s could not be loaded: %s", adapter_path, error)
            self._load_error = str(error)
        else:
            if tuned.model_id != self.model_id:
                raise RuntimeError(f"loaded {tuned.model_id}, expected {self.model_id}")
            self._tuned = tuned
            logger.info("adapter loaded: the tuned model %s now answers", self.model_id)
        self.landed.set()

    @property
    def serving(self) -> bool:
        """The adapter is loaded and every call goes to the tuned model."""
        return self._tuned is not None

    def progress(self) -> TrainingProgress | None:
        """The trainer's last snapshot, None once the adapter is serving (or none was written)."""
        if self._tuned is not None:
            return None
        return read_progress(self.progress_path)

    def status(self) -> str:
        """One line for /ready: `serving`, the training's progress, or why there is no adapter."""
        if self._tuned is not None:
            return "serving"
        if self._load_error is not None:
            return "adapter failed to load"
        progress = read_progress(self.progress_path)
        return "no adapter, none training" if progress is None else describe(progress)

    def _serving(self) -> LocalLlamaGenerator:
        tuned = self._tuned
        if tuned is not None:
            return tuned
        if self._load_error is not None:
            raise AdapterUnavailable(
                "the fine-tuned adapter could not be loaded; see the service log",
                detail=self._load_error,
            )
        progress = read_progress(self.progress_path)
        if progress is None or not progress.active:
            why = "its training failed" if progress and progress.state == "failed" else "none runs"
            raise AdapterUnavailable(
                f"no fine-tuned adapter for this catalog yet, and {why}: `make finetune` "
                "trains one, and this model serves it as soon as it lands",
                detail=progress.message if progress else None,
            )
        eta = progress.eta_s if progress.eta_s is not None else 30.0
        raise AdapterTraining(
            f"the fine-tuned model is still training ({describe(progress)}); rag answers now",
            retry_after_s=float(min(MAX_RETRY_S, max(MIN_RETRY_S, math.ceil(eta)))),
        )

    async def generate(
        self, messages: Sequence[ChatMessage], params: GenerationParams
    ) -> Generation:
        return await self._serving().generate(messages, params)

    def stream(
        self, messages: Sequence[ChatMessage], params: GenerationParams
    ) -> AsyncGenerator[GenerationEvent, None]:
        """Refuses at once, not at the first event, so that a strategy that retrieves first
        (hybrid) is refused before its sources are sent."""
        return self._serving().stream(messages, params)

    async def aclose(self) -> None:
        self._closing.set()
        await asyncio.to_thread(self._watcher.join)  # a load under way finishes first
        if self._tuned is not None:
            await self._tuned.aclose()
        await self._counter.aclose()
