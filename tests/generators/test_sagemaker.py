"""The SageMaker generator: JumpStart payloads, replies in both shapes, streams cut anywhere."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber

from app.core.errors import (
    BackendError,
    BackendThrottled,
    BackendTimeout,
    BackendUnavailable,
    InputRejected,
)
from app.core.types import ChatMessage
from app.generators.base import Generation, GenerationParams, TextDelta
from app.generators.sagemaker import (
    PayloadFormat,
    SageMakerGenerator,
    build_sagemaker_generator,
    llama3_prompt,
)
from app.settings import SageMakerSettings, Settings
from tests.contract.aws_stubs import (
    FAST_POLICY,
    exception_event,
    payload_parts,
    real_client,
    serve_event_stream,
    serve_event_streams,
    small_pool,
    tgi_stream_lines,
    use_fake_aws_credentials,
)

ENDPOINT = "catalog-llama3-tuned"
MESSAGES = [
    ChatMessage("system", "You know our catalog."),
    ChatMessage("user", "What pressure does the KX-420 run at?"),
]
GREEDY = GenerationParams(max_tokens=64, temperature=0.0)
FORMAT = PayloadFormat(top_p=0.9, stop=("<|eot_id|>",))


def invoke_reply(payload: object) -> dict[str, object]:
    raw = json.dumps(payload).encode()
    return {"Body": StreamingBody(io.BytesIO(raw), len(raw)), "ContentType": "application/json"}


@pytest.fixture
def generator(monkeypatch: pytest.MonkeyPatch) -> Iterator[SageMakerGenerator]:
    use_fake_aws_credentials(monkeypatch)
    pool = small_pool()
    client = real_client("sagemaker-runtime", SageMakerSettings())
    yield SageMakerGenerator(client, ENDPOINT, FORMAT, pool, FAST_POLICY)
    pool.shutdown()


def test_prompt_is_in_the_llama3_chat_format() -> None:
    prompt = llama3_prompt(MESSAGES)

    assert prompt == (
        "<|start_header_id|>system<|end_header_id|>\n\nYou know our catalog."
        "<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nWhat pressure does the KX-420 "
        "run at?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
    )


def test_the_container_tokenizer_sees_one_bos_token() -> None:
    """TGI and vLLM encode `inputs` with special tokens added; Llama 3's tokenizer.json adds
    `<|begin_of_text|>` in its TemplateProcessing post-processor. The same post-processor on a
    word-level vocabulary shows what the container's tokenizer makes of the prompt."""
    tokenizers = pytest.importorskip("tokenizers")
    specials = [
        "<|begin_of_text|>",
        "<|start_header_id|>",
        "<|end_header_id|>",
        "<|eot_id|>",
    ]
    tokenizer = tokenizers.Tokenizer(tokenizers.models.WordLevel({"[UNK]": 0}, unk_token="[UNK]"))
    tokenizer.add_special_tokens(specials)
    bos = tokenizer.token_to_id("<|begin_of_text|>")
    tokenizer.post_processor = tokenizers.processors.TemplateProcessing(
        single="<|begin_of_text|> $A", special_tokens=[("<|begin_of_text|>", bos)]
    )

    ids = tokenizer.encode(llama3_prompt(MESSAGES), add_special_tokens=True).ids

    assert ids[0] == bos
    assert ids.count(bos) == 1


def test_greedy_decoding_is_asked_without_a_zero_temperature() -> None:
    greedy = json.loads(FORMAT.body(MESSAGES, GREEDY, stream=False))
    sampled = json.loads(FORMAT.body(MESSAGES, GenerationParams(32, 0.7), stream=True))

    assert greedy["parameters"] == {
        "max_new_tokens": 64,
        "details": True,
        "stop": ["<|eot_id|>"],
        "do_sample": False,
    }
    assert greedy["inputs"] == llama3_prompt(MESSAGES)
    assert "stream" not in greedy
    assert sampled["parameters"]["temperature"] == 0.7
    assert sampled["parameters"]["top_p"] == 0.9
    assert sampled["stream"] is True


@pytest.mark.parametrize(
    "payload",
    [
        [
            {
                "generated_text": "210 bar.",
                "details": {"generated_tokens": 4, "finish_reason": "eos_token"},
            }
        ],
        {
            "generated_text": "210 bar.",
            "details": {"generated_tokens": 4, "finish_reason": "eos_token"},
        },
    ],
    ids=["list", "object"],
)
async def test_generate_reads_generated_text_of_either_reply_shape(
    generator: SageMakerGenerator, payload: object
) -> None:
    expected = {
        "EndpointName": ENDPOINT,
        "Body": FORMAT.body(MESSAGES, GREEDY, stream=False),
        "ContentType": "application/json",
        "Accept": "application/json",
    }
    with Stubber(generator.client) as stubber:
        stubber.add_response("invoke_endpoint", invoke_reply(payload), expected)
        generation = await generator.generate(MESSAGES, GREEDY)

    assert generation.text == "210 bar."
    assert generation.model == ENDPOINT
    assert generation.usage.output_tokens == 4
    assert generation.usage.estimated is True  # the prompt's tokens were not reported
    assert generation.finish_reason == "stop"


async def test_usage_is_counted_and_marked_estimated_without_details(
    generator: SageMakerGenerator,
) -> None:
    with Stubber(generator.client) as stubber:
        stubber.add_response(
            "invoke_endpoint", invoke_reply([{"generated_text": "It runs at 210 bar."}])
        )
        generation = await generator.generate(MESSAGES, GREEDY)

    assert generation.usage.estimated is True
    assert 5 <= generation.usage.output_tokens <= 10
    assert generation.usage.input_tokens > 15


async def test_a_reply_without_generated_text_is_a_backend_error(
    generator: SageMakerGenerator,
) -> None:
    with Stubber(generator.client) as stubber:
        stubber.add_response("invoke_endpoint", invoke_reply({"error": "CUDA out of memory"}))
        with pytest.raises(BackendError, match="malformed reply"):
            await generator.generate(MESSAGES, GREEDY)


async def test_stream_rebuilds_lines_and_characters_cut_across_chunks(
    generator: SageMakerGenerator,
) -> None:
    data = tgi_stream_lines(["Il tourne", " à", " 210 bar."], generated_tokens=3)
    cut_inside_the_accent = data.index("à".encode()) + 1
    sent = serve_event_stream(
        generator.client,
        "InvokeEndpointWithResponseStream",
        payload_parts(data, [5, cut_inside_the_accent - 5, 3, 40]),
    )

    events = [event async for event in generator.stream(MESSAGES, GREEDY)]

    deltas = [event.text for event in events if isinstance(event, TextDelta)]
    assert deltas == ["Il tourne", " à", " 210 bar."]
    final = events[-1]
    assert isinstance(final, Generation)
    assert final.text == "Il tourne à 210 bar."
    assert final.usage.output_tokens == 3
    assert json.loads(sent.bodies[0])["stream"] is True


async def test_stream_accepts_lmi_json_lines_and_skips_special_tokens(
    generator: SageMakerGenerator,
) -> None:
    lines = [
        {"token": {"text": "210"}, "generated_text": None},
        {"token": {"text": " bar"}, "generated_text": None},
        {"token": {"text": "<|eot_id|>", "special": True}, "generated_text": "210 bar"},
    ]
    data = "".join(json.dumps(line) + "\n" for line in lines).encode()
    serve_event_stream(
        generator.client, "InvokeEndpointWithResponseStream", payload_parts(data, [9])
    )

    events = [event async for event in generator.stream(MESSAGES, GREEDY)]

    assert [e.text for e in events if isinstance(e, TextDelta)] == ["210", " bar"]
    assert isinstance(events[-1], Generation)
    assert events[-1].text == "210 bar"
    assert events[-1].usage.estimated is True


async def test_an_endpoint_that_is_not_ready_is_retried_then_unavailable(
    generator: SageMakerGenerator,
) -> None:
    with Stubber(generator.client) as stubber:
        for _ in range(FAST_POLICY.max_attempts):
            stubber.add_client_error("invoke_endpoint", "ModelNotReadyException", "warming up", 429)
        with pytest.raises(BackendUnavailable, match="warming up"):
            await generator.generate(MESSAGES, GREEDY)
        stubber.assert_no_pending_responses()


async def test_throttling_is_backend_throttled(generator: SageMakerGenerator) -> None:
    with Stubber(generator.client) as stubber:
        for _ in range(FAST_POLICY.max_attempts):
            stubber.add_client_error("invoke_endpoint", "ThrottlingException", "Rate exceeded", 400)
        with pytest.raises(BackendThrottled):
            await generator.generate(MESSAGES, GREEDY)


async def test_a_model_error_fails_at_once_with_the_containers_message(
    generator: SageMakerGenerator,
) -> None:
    with Stubber(generator.client) as stubber:
        stubber.add_client_error("invoke_endpoint", "ModelError", "CUDA out of memory", 424)
        with pytest.raises(BackendError, match="CUDA out of memory") as raised:
            await generator.generate(MESSAGES, GREEDY)
        stubber.assert_no_pending_responses()
    assert raised.value.counts_against_backend  # the model failed: its circuit counts it
    assert "CUDA" not in raised.value.message  # the container's words stay in the log


async def test_an_input_the_container_refuses_as_too_long_is_the_clients_422(
    generator: SageMakerGenerator,
) -> None:
    with Stubber(generator.client) as stubber:
        stubber.add_client_error(
            "invoke_endpoint", "ModelError", "Input validation error: inputs too long", 424
        )
        with pytest.raises(InputRejected) as raised:
            await generator.generate(MESSAGES, GREEDY)
    assert raised.value.status_code == 422
    assert "inputs too long" in raised.value.log_text()


async def test_inference_component_and_custom_attributes_are_sent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_fake_aws_credentials(monkeypatch)
    settings = Settings(
        _env_file=None,
        sagemaker={
            "endpoint_name": ENDPOINT,
            "inference_component": "llama3-tuned-ic",
            "custom_attributes": "accept_eula=true",
        },
    )
    generator = build_sagemaker_generator(settings, "tuned")
    expected = {
        "EndpointName": ENDPOINT,
        "InferenceComponentName": "llama3-tuned-ic",
        "CustomAttributes": "accept_eula=true",
        "Body": ANY,
        "ContentType": "application/json",
        "Accept": "application/json",
    }
    with Stubber(generator.client) as stubber:
        stubber.add_response("invoke_endpoint", invoke_reply([{"generated_text": "ok"}]), expected)
        await generator.generate(MESSAGES, GREEDY)

    assert generator.model_id == f"{ENDPOINT}/llama3-tuned-ic"
    await generator.aclose()


def test_the_endpoint_name_is_required_and_named(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fake_aws_credentials(monkeypatch)

    with pytest.raises(ValueError, match="FMT_SAGEMAKER__ENDPOINT_NAME"):
        build_sagemaker_generator(Settings(_env_file=None), "tuned")


def test_the_base_role_may_use_its_own_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fake_aws_credentials(monkeypatch)
    settings = Settings(
        _env_file=None,
        sagemaker={"endpoint_name": ENDPOINT, "base_endpoint_name": "llama3-base"},
    )

    assert build_sagemaker_generator(settings, "base").model_id == "llama3-base"
    assert build_sagemaker_generator(settings, "tuned").model_id == ENDPOINT


def lmi_lines(lines: list[dict[str, object]]) -> list[bytes]:
    return payload_parts("".join(json.dumps(line) + "\n" for line in lines).encode(), [])


async def test_an_lmi_stream_that_fails_midway_ends_in_an_error_not_a_success(
    generator: SageMakerGenerator,
) -> None:
    # LMI keeps HTTP 200 once a token went out and says so in the last line (issue 12).
    failed = {
        "token": {"id": -1, "text": "", "log_prob": -1, "special_token": True},
        "generated_text": "",
        "details": {"finish_reason": "error", "generated_tokens": None, "inputs": None},
    }
    serve_event_stream(
        generator.client,
        "InvokeEndpointWithResponseStream",
        lmi_lines([{"token": {"id": 1, "text": "210", "log_prob": -0.1}}, failed]),
    )

    received = []
    with pytest.raises(BackendError, match="finish_reason: error"):
        async for event in generator.stream(MESSAGES, GREEDY):
            received.append(event)

    assert received == [TextDelta("210")]


async def test_an_lmi_reply_with_finish_reason_error_is_a_backend_error(
    generator: SageMakerGenerator,
) -> None:
    reply = {"generated_text": "", "details": {"finish_reason": "error", "inputs": None}}
    with Stubber(generator.client) as stubber:
        stubber.add_response("invoke_endpoint", invoke_reply(reply))
        with pytest.raises(BackendError, match="finish_reason: error"):
            await generator.generate(MESSAGES, GREEDY)


async def test_lmi_special_tokens_are_not_part_of_the_answer(
    generator: SageMakerGenerator,
) -> None:
    lines = [
        {"token": {"id": 1, "text": "210 bar", "log_prob": -0.1, "special_token": False}},
        {
            "token": {"id": 2, "text": "<|eot_id|>", "log_prob": -0.1, "special_token": True},
            "generated_text": "210 bar",
            "details": {"finish_reason": "eos_token", "generated_tokens": 2, "inputs": "q"},
        },
    ]
    serve_event_stream(generator.client, "InvokeEndpointWithResponseStream", lmi_lines(lines))

    events = [event async for event in generator.stream(MESSAGES, GREEDY)]

    assert isinstance(events[-1], Generation)
    assert events[-1].text == "210 bar"
    assert events[-1].finish_reason == "stop"


async def test_a_tgi_error_line_mid_stream_is_a_backend_error(
    generator: SageMakerGenerator,
) -> None:
    data = tgi_stream_lines(["210"]) + b'data:{"error":"CUDA out of memory","error_type":"x"}\n\n'
    serve_event_stream(
        generator.client, "InvokeEndpointWithResponseStream", payload_parts(data, [])
    )

    with pytest.raises(BackendError, match="CUDA out of memory"):
        async for _ in generator.stream(MESSAGES, GREEDY):
            pass


async def test_model_invocation_time_exceeded_is_a_timeout(
    generator: SageMakerGenerator,
) -> None:
    timed_out = exception_event(
        "ModelStreamError", "Model took too long", ErrorCode="ModelInvocationTimeExceeded"
    )
    serve_event_stream(
        generator.client,
        "InvokeEndpointWithResponseStream",
        [*payload_parts(tgi_stream_lines(["210"]), []), timed_out],
    )

    with pytest.raises(BackendTimeout, match="Model took too long"):
        async for _ in generator.stream(MESSAGES, GREEDY):
            pass


async def test_a_broken_stream_before_any_payload_is_opened_again(
    generator: SageMakerGenerator,
) -> None:
    broken = exception_event("ModelStreamError", "connection reset", ErrorCode="StreamBroken")
    sent = serve_event_streams(
        generator.client,
        "InvokeEndpointWithResponseStream",
        [[broken], payload_parts(tgi_stream_lines(["210 bar."], generated_tokens=3), [])],
    )

    events = [event async for event in generator.stream(MESSAGES, GREEDY)]

    assert len(sent.bodies) == 2
    assert isinstance(events[-1], Generation)
    assert events[-1].text == "210 bar."


def test_top_p_of_one_is_refused_at_start_up() -> None:
    # TGI refuses top_p = 1.0 (issue 12); the setting names itself.
    with pytest.raises(ValueError, match="top_p"):
        SageMakerSettings(top_p=1.0)


def test_limits_follow_the_containers_context_window(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fake_aws_credentials(monkeypatch)
    settings = Settings(
        _env_file=None, sagemaker={"endpoint_name": ENDPOINT, "context_tokens": 4096}
    )

    generator = build_sagemaker_generator(settings, "tuned")

    assert generator.limits.max_tokens == 4095
    assert 1.0 not in generator.limits.top_p


UPSTREAM_SECRET = "CUDA out of memory on ip-10-0-3-7 with arn:aws:iam::123456789012:role/x"


@pytest.mark.parametrize(
    "payload",
    [{"error": UPSTREAM_SECRET}, [{"generated_text": [UPSTREAM_SECRET]}]],
    ids=["no-generated-text", "generated-text-not-text"],
)
async def test_an_unusable_reply_keeps_the_containers_text_out_of_the_clients_message(
    generator: SageMakerGenerator, payload: object
) -> None:
    with Stubber(generator.client) as stubber:
        stubber.add_response("invoke_endpoint", invoke_reply(payload))
        with pytest.raises(BackendError) as raised:
            await generator.generate(MESSAGES, GREEDY)

    assert "CUDA" not in raised.value.message
    assert "CUDA" in (raised.value.detail or "")  # for the log, under the request id


@pytest.mark.parametrize(
    "line",
    [
        f'data:{{"error":"{UPSTREAM_SECRET}","error_type":"x"}}\n\n'.encode(),
        f"data:{{{UPSTREAM_SECRET}\n\n".encode(),
        f'data:["{UPSTREAM_SECRET}"]\n\n'.encode(),
    ],
    ids=["error-line", "malformed-line", "not-an-object"],
)
async def test_a_broken_stream_keeps_the_containers_text_out_of_the_clients_message(
    generator: SageMakerGenerator, line: bytes
) -> None:
    data = tgi_stream_lines(["210"]) + line
    serve_event_stream(
        generator.client, "InvokeEndpointWithResponseStream", payload_parts(data, [])
    )

    with pytest.raises(BackendError) as raised:
        async for _ in generator.stream(MESSAGES, GREEDY):
            pass

    assert "CUDA" not in raised.value.message
    assert "CUDA" in (raised.value.detail or "")
