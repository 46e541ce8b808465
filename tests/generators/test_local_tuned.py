"""The tuned model while its adapter trains: 503 with the training's progress, then the adapter.

A fake llama.cpp stands in for the model (tests/generators/test_local_jobs.py's); the adapter
"lands" when the test writes its files, as the trainer does, and the watcher thread loads it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from app.core.errors import AdapterTraining, AdapterUnavailable
from app.core.types import ChatMessage
from app.generators.base import Generation, GenerationParams
from app.generators.local import LocalLlamaGenerator
from app.generators.local_jobs import QueueLimits
from app.generators.local_tuned import AwaitedAdapterGenerator
from app.generators.lora_adapters import TrainingProgress, write_progress
from tests.generators.test_local_jobs import TickingLlama

QUESTION = [ChatMessage("user", "How often is the oil changed?")]
PARAMS = GenerationParams(max_tokens=3, temperature=0.0)
TUNED_ID = "base+lora:0123"


def _generator(llama: TickingLlama, model_id: str) -> LocalLlamaGenerator:
    return LocalLlamaGenerator(llama, model_id, 30.0, QueueLimits(8, 30.0))


def _awaited(
    tmp_path: Path, counter_llama: TickingLlama, loaded: list[Path]
) -> AwaitedAdapterGenerator:
    def load(adapter: Path) -> LocalLlamaGenerator:
        loaded.append(adapter)
        return _generator(TickingLlama(0.0), TUNED_ID)

    return AwaitedAdapterGenerator(
        _generator(counter_llama, "base (tokenizer)"),
        TUNED_ID,
        tmp_path / "adapter.gguf",
        tmp_path / "progress.json",
        load,
        poll_s=0.01,
    )


def _land(folder: Path) -> None:
    (folder / "adapter.gguf").write_bytes(b"GGUF")
    (folder / "manifest.json").write_text("{}", encoding="utf-8")


def _training(folder: Path, **changes: object) -> None:
    fields: dict[str, object] = {
        "state": "training",
        "step": 3,
        "total_steps": 10,
        "eta_s": 42.0,
        "pid": os.getpid(),
    }
    write_progress(folder / "progress.json", TrainingProgress(**{**fields, **changes}))  # type: ignore[arg-type]


async def test_while_training_the_tuned_model_refuses_with_the_progress_and_eta(
    tmp_path: Path,
) -> None:
    counter = TickingLlama()
    generator = _awaited(tmp_path, counter, [])
    _training(tmp_path)

    with pytest.raises(AdapterTraining) as refused:
        await generator.generate(QUESTION, PARAMS)

    assert "step 3 of 10" in refused.value.message
    assert refused.value.retry_after_s == 42
    assert (refused.value.status_code, refused.value.code) == (503, "adapter_training")
    assert counter.started == 0  # the base model never answers under the tuned model's name
    assert generator.status() == "training, step 3 of 10, about 42 s left"
    await generator.aclose()


@pytest.mark.parametrize(
    "write",
    [
        lambda folder: None,
        lambda folder: _training(folder, state="failed", message="killed"),
        lambda folder: _training(folder, pid=2**22 + 12345),  # a trainer that died
    ],
    ids=["never-trained", "failed", "trainer-gone"],
)
async def test_with_no_training_under_way_it_says_there_is_no_adapter(
    tmp_path: Path, write: Callable[[Path], None]
) -> None:
    generator = _awaited(tmp_path, TickingLlama(), [])
    write(tmp_path)

    with pytest.raises(AdapterUnavailable, match="make finetune"):
        await generator.generate(QUESTION, PARAMS)
    await generator.aclose()


async def test_when_the_adapter_lands_the_tuned_model_answers_without_a_restart(
    tmp_path: Path,
) -> None:
    counter = TickingLlama()
    loaded: list[Path] = []
    generator = _awaited(tmp_path, counter, loaded)
    _training(tmp_path)
    (tmp_path / "adapter.gguf").write_bytes(b"GGUF")  # written, but no manifest yet
    with pytest.raises(AdapterTraining):
        await generator.generate(QUESTION, PARAMS)

    _land(tmp_path)
    assert generator.landed.wait(10.0)

    generation = await generator.generate(QUESTION, PARAMS)
    assert isinstance(generation, Generation)
    assert generation.model == TUNED_ID
    assert loaded == [tmp_path / "adapter.gguf"]
    assert generator.serving and generator.progress() is None
    assert counter.started == 0
    events = [event async for event in generator.stream(QUESTION, PARAMS)]
    assert isinstance(events[-1], Generation) and events[-1].model == TUNED_ID
    await generator.aclose()
