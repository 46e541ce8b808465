"""The contract every generator keeps, run against each backend with its service stubbed."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from app.core.errors import BackendThrottled, BackendTimeout, ParameterOutOfRange
from app.core.types import ChatMessage
from app.generators.base import Generation, GenerationParams, TextDelta
from app.generators.limits import check_request
from tests.contract.aws_stubs import use_fake_aws_credentials
from tests.contract.harnesses import (
    CONTRACT_POLICY,
    BedrockGeneratorHarness,
    FakeGeneratorHarness,
    GeneratorHarness,
    OpenAIGeneratorHarness,
    SageMakerGeneratorHarness,
)

HARNESSES: dict[str, Callable[[], GeneratorHarness]] = {
    "fake": FakeGeneratorHarness,
    "bedrock": BedrockGeneratorHarness,
    "sagemaker": SageMakerGeneratorHarness,
    "openai": OpenAIGeneratorHarness,
}
MESSAGES = [
    ChatMessage("system", "Answer from the catalog."),
    ChatMessage("user", "What pressure does the KX-420 run at?"),
]
PARAMS = GenerationParams(max_tokens=32, temperature=0.0)


@pytest.fixture(params=sorted(HARNESSES))
def harness(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[GeneratorHarness]:
    use_fake_aws_credentials(monkeypatch)
    harness = HARNESSES[request.param]()
    yield harness
    harness.finish()


def test_names_itself_and_its_model(harness: GeneratorHarness) -> None:
    assert isinstance(harness.generator.name, str) and harness.generator.name
    assert isinstance(harness.generator.model_id, str) and harness.generator.model_id


async def test_generate_returns_the_answer_with_model_and_usage(harness: GeneratorHarness) -> None:
    harness.will_answer("The KX-420 runs at 210 bar.")

    generation = await harness.generator.generate(MESSAGES, PARAMS)

    assert generation.text == "The KX-420 runs at 210 bar."
    assert generation.model
    assert generation.usage.input_tokens > 0
    assert generation.usage.output_tokens > 0


async def test_stream_gives_deltas_then_exactly_one_matching_generation(
    harness: GeneratorHarness,
) -> None:
    harness.will_stream(["The KX-420", " runs at", " 210 bar."])

    events = [event async for event in harness.generator.stream(MESSAGES, PARAMS)]

    deltas = [event for event in events[:-1] if isinstance(event, TextDelta)]
    assert len(deltas) == len(events) - 1 >= 1
    final = events[-1]
    assert isinstance(final, Generation)
    assert final.text == "".join(delta.text for delta in deltas) == "The KX-420 runs at 210 bar."
    assert final.usage.output_tokens > 0


async def test_throttling_that_does_not_stop_is_backend_throttled(
    harness: GeneratorHarness,
) -> None:
    harness.will_throttle()

    with pytest.raises(BackendThrottled) as raised:
        await harness.generator.generate(MESSAGES, PARAMS)

    assert raised.value.status_code == 503


async def test_a_backend_that_does_not_answer_is_a_timeout_within_the_deadline(
    harness: GeneratorHarness,
) -> None:
    harness.will_hang()
    started = time.perf_counter()

    with pytest.raises(BackendTimeout) as raised:
        await harness.generator.generate(MESSAGES, PARAMS)

    assert raised.value.status_code == 504
    assert time.perf_counter() - started < CONTRACT_POLICY.deadline_s + 0.5


def test_declares_the_limits_it_accepts_and_is_held_to_them(harness: GeneratorHarness) -> None:
    limits = harness.generator.limits
    assert 0.0 in limits.temperature
    assert 1 <= limits.max_tokens < limits.context_tokens
    check_request(harness.generator, PARAMS)  # the contract's own parameters fit

    too_long = GenerationParams(max_tokens=limits.max_tokens + 1, temperature=0.0)
    with pytest.raises(ParameterOutOfRange, match=harness.generator.name):
        check_request(harness.generator, too_long)
