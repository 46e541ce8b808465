"""The Bedrock generator on a real boto3 client with stubbed Converse and ConverseStream replies."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
from botocore.stub import Stubber

from app.core.errors import BackendError, BackendThrottled, BackendTimeout, BackendUnavailable
from app.core.types import ChatMessage
from app.generators.base import Generation, GenerationParams, TextDelta
from app.generators.bedrock import BedrockGenerator, build_bedrock_generator, parse_converse_reply
from app.resilience.retry import RetryPolicy
from app.settings import BedrockSettings, Settings
from tests.contract.aws_stubs import (
    FAST_POLICY,
    converse_stream_events,
    exception_event,
    hang_then_time_out,
    real_client,
    serve_event_stream,
    serve_event_streams,
    small_pool,
    use_fake_aws_credentials,
)

MODEL = "meta.llama3-1-8b-instruct-v1:0"
MESSAGES = [
    ChatMessage("system", "Answer from the catalog."),
    ChatMessage("user", "What pressure does the KX-420 run at?"),
]
PARAMS = GenerationParams(max_tokens=64, temperature=0.0)


def converse_reply(text: str, input_tokens: int = 20, output_tokens: int = 5) -> dict[str, object]:
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": "end_turn",
        "usage": {
            "inputTokens": input_tokens,
            "outputTokens": output_tokens,
            "totalTokens": input_tokens + output_tokens,
        },
        "metrics": {"latencyMs": 120},
    }


@pytest.fixture
def generator(monkeypatch: pytest.MonkeyPatch) -> Iterator[BedrockGenerator]:
    use_fake_aws_credentials(monkeypatch)
    pool = small_pool()
    client = real_client("bedrock-runtime", BedrockSettings())
    yield BedrockGenerator(client, MODEL, pool, FAST_POLICY)
    pool.shutdown()


async def test_generate_sends_a_converse_request_and_reads_text_and_usage(
    generator: BedrockGenerator,
) -> None:
    expected = {
        "modelId": MODEL,
        "system": [{"text": "Answer from the catalog."}],
        "messages": [
            {"role": "user", "content": [{"text": "What pressure does the KX-420 run at?"}]}
        ],
        "inferenceConfig": {"maxTokens": 64, "temperature": 0.0},
    }
    with Stubber(generator.client) as stubber:
        stubber.add_response("converse", converse_reply("It runs at 210 bar.", 31, 7), expected)
        generation = await generator.generate(MESSAGES, PARAMS)

    assert generation.text == "It runs at 210 bar."
    assert generation.model == MODEL
    assert (generation.usage.input_tokens, generation.usage.output_tokens) == (31, 7)
    assert generation.usage.estimated is False
    assert generation.finish_reason == "stop"


async def test_stream_yields_the_deltas_then_one_generation_with_usage(
    generator: BedrockGenerator,
) -> None:
    sent = serve_event_stream(
        generator.client,
        "ConverseStream",
        converse_stream_events(["It runs", " at 210", " bar."], 30, 6),
    )

    events = [event async for event in generator.stream(MESSAGES, PARAMS)]

    assert [e.text for e in events if isinstance(e, TextDelta)] == ["It runs", " at 210", " bar."]
    final = events[-1]
    assert isinstance(final, Generation)
    assert sum(isinstance(e, Generation) for e in events) == 1
    assert final.text == "It runs at 210 bar."
    assert (final.usage.input_tokens, final.usage.output_tokens, final.usage.estimated) == (
        30,
        6,
        False,
    )
    assert sent.json()["inferenceConfig"] == {"maxTokens": 64, "temperature": 0.0}
    assert sent.json()["system"] == [{"text": "Answer from the catalog."}]


async def test_throttling_is_retried_then_answers(generator: BedrockGenerator) -> None:
    with Stubber(generator.client) as stubber:
        stubber.add_client_error("converse", "ThrottlingException", "Too many requests", 429)
        stubber.add_response("converse", converse_reply("210 bar."))
        generation = await generator.generate(MESSAGES, PARAMS)
        stubber.assert_no_pending_responses()

    assert generation.text == "210 bar."


async def test_throttling_on_every_attempt_is_backend_throttled(
    generator: BedrockGenerator,
) -> None:
    with Stubber(generator.client) as stubber:
        for _ in range(FAST_POLICY.max_attempts):
            stubber.add_client_error("converse_stream", "ThrottlingException", "Slow down", 429)
        with pytest.raises(BackendThrottled, match="Slow down"):
            async for _ in generator.stream(MESSAGES, PARAMS):
                pass
        stubber.assert_no_pending_responses()


async def test_an_error_event_in_the_stream_becomes_an_app_error(
    generator: BedrockGenerator,
) -> None:
    messages = [
        *converse_stream_events(["It runs"])[:2],
        exception_event("throttlingException", "Rate exceeded mid-stream"),
    ]
    serve_event_stream(generator.client, "ConverseStream", messages)

    received = []
    with pytest.raises(BackendThrottled, match="mid-stream"):
        async for event in generator.stream(MESSAGES, PARAMS):
            received.append(event)

    assert received == [TextDelta("It runs")]


async def test_a_silent_server_is_a_timeout_at_the_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_fake_aws_credentials(monkeypatch)
    pool = small_pool()
    client = real_client("bedrock-runtime", BedrockSettings())
    policy = RetryPolicy(max_attempts=3, base_delay_s=0.0, max_delay_s=0.0, deadline_s=0.3)
    generator = BedrockGenerator(client, MODEL, pool, policy)
    release = hang_then_time_out(client, "Converse", hang_s=10)
    started = time.perf_counter()

    with pytest.raises(BackendTimeout):
        await generator.generate(MESSAGES, PARAMS)

    assert time.perf_counter() - started < 10  # the deadline ended it, not the 10 s hang
    release.set()
    pool.shutdown()


async def test_a_stream_that_stalls_midway_ends_at_the_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_fake_aws_credentials(monkeypatch)
    pool = small_pool()
    client = real_client("bedrock-runtime", BedrockSettings())
    policy = RetryPolicy(max_attempts=1, base_delay_s=0.0, max_delay_s=0.0, deadline_s=0.3)
    generator = BedrockGenerator(client, MODEL, pool, policy)
    sent = serve_event_stream(
        client, "ConverseStream", converse_stream_events(["a"] * 20), delay_s=0.1
    )
    received = []
    with pytest.raises(BackendTimeout, match="stream not finished"):
        async for event in generator.stream(MESSAGES, PARAMS):
            received.append(event)

    assert 1 <= len(received) < 20  # the deadline ended it, before the stream did
    for _ in range(50):  # the abandoned stream is closed, so its thread goes back to the pool
        if sent.streams[0].closed:
            break
        await asyncio.sleep(0.02)
    assert sent.streams[0].closed
    pool.shutdown()


async def test_a_read_timeout_is_a_backend_timeout(generator: BedrockGenerator) -> None:
    hang_then_time_out(generator.client, "Converse", hang_s=0)

    with pytest.raises(BackendTimeout):
        await generator.generate(MESSAGES, PARAMS)


async def test_streaming_leaves_the_event_loop_free(generator: BedrockGenerator) -> None:
    serve_event_stream(
        generator.client, "ConverseStream", converse_stream_events(["a"] * 10), delay_s=0.03
    )
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.005)
            ticks += 1

    ticker = asyncio.create_task(tick())
    events = [event async for event in generator.stream(MESSAGES, PARAMS)]
    ticker.cancel()

    assert events[-1] == Generation("a" * 10, MODEL, events[-1].usage, "stop")  # type: ignore[union-attr]
    assert ticks >= 20


async def test_stopping_a_stream_early_closes_the_connection(generator: BedrockGenerator) -> None:
    sent = serve_event_stream(
        generator.client, "ConverseStream", converse_stream_events(["a"] * 50), delay_s=0.01
    )

    stream = generator.stream(MESSAGES, PARAMS)
    async for _ in stream:
        break
    await stream.aclose()  # type: ignore[attr-defined]

    for _ in range(100):
        if sent.streams[0].closed:
            break
        await asyncio.sleep(0.01)
    assert sent.streams[0].closed


def test_a_reply_without_usage_is_a_backend_error() -> None:
    with pytest.raises(BackendError, match="malformed"):
        parse_converse_reply({"output": {"message": {"content": [{"text": "hi"}]}}}, MODEL)


def test_tuned_role_needs_the_tuned_model_id(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fake_aws_credentials(monkeypatch)

    with pytest.raises(ValueError, match="FMT_BEDROCK__TUNED_MODEL_ID"):
        build_bedrock_generator(Settings(_env_file=None), "tuned")

    settings = Settings(_env_file=None, bedrock={"tuned_model_id": "arn:aws:bedrock:custom"})
    assert build_bedrock_generator(settings, "tuned").model_id == "arn:aws:bedrock:custom"
    # The default model through the region's cross-region inference profile (issue 12).
    assert build_bedrock_generator(settings, "base").model_id == f"us.{MODEL}"


def test_standard_aws_variables_choose_region_and_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fake_aws_credentials(monkeypatch)
    monkeypatch.setenv("AWS_REGION", "eu-west-3")
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "http://127.0.0.1:4566")
    settings = Settings(_env_file=None, bedrock={"model_id": "eu.meta.llama3-2-3b-instruct-v1:0"})

    generator = build_bedrock_generator(settings, "base")

    assert generator.client.meta.region_name == "eu-west-3"
    assert generator.client.meta.endpoint_url == "http://127.0.0.1:4566"
    assert generator.client.meta.config.max_pool_connections == 256  # type: ignore[attr-defined]


async def test_throttling_inside_the_stream_before_any_text_is_retried(
    generator: BedrockGenerator,
) -> None:
    throttled = [
        *converse_stream_events(["x"])[:1],  # messageStart only, then the error event
        exception_event("throttlingException", "Too many tokens"),
    ]
    sent = serve_event_streams(
        generator.client,
        "ConverseStream",
        [throttled, converse_stream_events(["It runs", " at 210 bar."])],
    )

    events = [event async for event in generator.stream(MESSAGES, PARAMS)]

    assert len(sent.bodies) == 2  # reopened once, nobody saw the first attempt
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["It runs", " at 210 bar."]
    assert isinstance(events[-1], Generation)
    assert events[-1].text == "It runs at 210 bar."


async def test_a_model_stream_error_before_text_is_retried_until_attempts_run_out(
    generator: BedrockGenerator,
) -> None:
    failing = [exception_event("modelStreamErrorException", "Model stream error")]
    sent = serve_event_streams(generator.client, "ConverseStream", [failing])

    with pytest.raises(BackendUnavailable, match="Model stream error"):
        async for _ in generator.stream(MESSAGES, PARAMS):
            pass

    assert len(sent.bodies) == FAST_POLICY.max_attempts


def test_the_default_model_uses_the_regions_inference_profile(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_fake_aws_credentials(monkeypatch)
    monkeypatch.setenv("AWS_REGION", "us-west-2")

    generator = build_bedrock_generator(Settings(_env_file=None), "base")

    assert generator.model_id == "us.meta.llama3-1-8b-instruct-v1:0"
    assert generator.limits.temperature.high == 1.0  # Converse's range, not the API's 2.0


@pytest.mark.parametrize(
    ("model_id", "region", "named"),
    [
        # Refused for on-demand use: the bare id of a profile-only model (issue 12).
        ("meta.llama3-1-8b-instruct-v1:0", "us-east-1", "us.meta.llama3-1-8b-instruct-v1:0"),
        # A profile of another geography cannot be called from here.
        ("us.meta.llama3-1-8b-instruct-v1:0", "eu-central-1", "eu.meta.llama3-1-8b"),
        # The default model has no profile in this geography.
        (None, "ap-southeast-2", "FMT_BEDROCK__MODEL_ID"),
    ],
)
def test_an_unusable_model_id_fails_at_start_up_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, model_id: str | None, region: str, named: str
) -> None:
    use_fake_aws_credentials(monkeypatch)
    monkeypatch.setenv("AWS_REGION", region)
    settings = Settings(_env_file=None, bedrock={"model_id": model_id})

    with pytest.raises(ValueError, match="FMT_BEDROCK__MODEL_ID") as refused:
        build_bedrock_generator(settings, "base")

    assert named in str(refused.value)


def test_a_default_temperature_converse_refuses_fails_at_start_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_fake_aws_credentials(monkeypatch)
    settings = Settings(_env_file=None, generation={"temperature": 1.5})

    with pytest.raises(ValueError, match="FMT_GENERATION__TEMPERATURE"):
        build_bedrock_generator(settings, "base")


@pytest.mark.parametrize(
    ("code", "message", "named"),
    [
        (
            "ValidationException",
            "Invocation of model ID meta.llama3-1-8b-instruct-v1:0 with on-demand throughput "
            "isn't supported. Retry your request with the ID or ARN of an inference profile.",
            "FMT_BEDROCK__MODEL_ID",
        ),
        ("AccessDeniedException", "not authorized to perform bedrock:InvokeModel", "make doctor"),
        ("ResourceNotFoundException", "model not found", "FMT_BEDROCK__MODEL_ID"),
    ],
)
async def test_a_refusal_names_what_to_change(
    generator: BedrockGenerator, code: str, message: str, named: str
) -> None:
    with Stubber(generator.client) as stubber:
        stubber.add_client_error("converse", code, message, 400)
        with pytest.raises(BackendError) as refused:
            await generator.generate(MESSAGES, PARAMS)

    assert refused.value.status_code == 502
    assert named in refused.value.message
