"""A SageMaker real-time endpoint (JumpStart / TGI / LMI text generation) as a generator."""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.core.aws_clients import sagemaker_runtime_client
from app.core.errors import UPSTREAM_DETAIL_CHARS, BackendError
from app.core.token_count import estimate_prompt_tokens, estimate_text_tokens
from app.core.tokens import Tokenizer
from app.core.types import ChatMessage, TokenUsage
from app.generators.base import (
    Generation,
    GenerationEvent,
    GenerationLimits,
    GenerationParams,
    GeneratorRole,
    TextDelta,
)
from app.generators.limits import (
    TGI_TEMPERATURE,
    TGI_TOP_P,
    refuse_unusable_defaults,
    within_window,
)
from app.generators.streaming import events_with_error_fields, retry_until_first_text
from app.resilience.blocking import BlockingPool, shared_pool
from app.resilience.retry import RetryPolicy, call_with_retries
from app.settings import SageMakerSettings, Settings

if TYPE_CHECKING:
    from mypy_boto3_sagemaker_runtime import SageMakerRuntimeClient

JSON = "application/json"
FINISH_REASONS = {"eos_token": "stop", "stop_sequence": "stop", "length": "length"}
# LMI ends a stream that failed mid-way with HTTP 200 and this finish reason (TGI sends `error`).
FAILED = "error"


def sagemaker_limits(settings: SageMakerSettings) -> GenerationLimits:
    """TGI's and LMI's ranges; the answer must fit the container's context window."""
    return within_window(TGI_TEMPERATURE, TGI_TOP_P, settings.context_tokens)


DEFAULT_LIMITS = sagemaker_limits(SageMakerSettings())


def llama3_prompt(messages: Sequence[ChatMessage]) -> str:
    """The messages in the Llama 3 chat format, ending with an open assistant turn.

    Without `<|begin_of_text|>`: TGI and LMI (vLLM) tokenize `inputs` with the model's special
    tokens added, and Llama 3's tokenizer adds that BOS itself; written here too, every prompt
    would start with two, which shifts every position and degrades the answers.
    """
    turns = "".join(
        f"<|start_header_id|>{m.role}<|end_header_id|>\n\n{m.content.strip()}<|eot_id|>"
        for m in messages
    )
    return f"{turns}<|start_header_id|>assistant<|end_header_id|>\n\n"


@dataclass(frozen=True, slots=True)
class PayloadFormat:
    """What the endpoint's container expects beside the prompt."""

    top_p: float
    stop: tuple[str, ...]

    def body(
        self, messages: Sequence[ChatMessage], params: GenerationParams, stream: bool
    ) -> bytes:
        parameters: dict[str, Any] = {
            "max_new_tokens": params.max_tokens,
            "details": True,
            "stop": list(self.stop),
        }
        # TGI rejects temperature 0; greedy decoding is asked for with do_sample instead.
        if params.temperature > 0:
            parameters.update(do_sample=True, temperature=params.temperature, top_p=self.top_p)
        else:
            parameters["do_sample"] = False
        payload: dict[str, Any] = {"inputs": llama3_prompt(messages), "parameters": parameters}
        if stream:
            payload["stream"] = True
        return json.dumps(payload).encode()

    def without_stop(self, text: str) -> str:
        for stop in self.stop:
            if text.endswith(stop):
                return text[: -len(stop)]
        return text


def usage_from_details(
    details: Mapping[str, Any] | None, messages: Sequence[ChatMessage], text: str
) -> TokenUsage:
    """Counts from the container's `details` where given, estimates for the rest."""
    details = details or {}
    generated = details.get("generated_tokens")
    prefill = details.get("prefill") or details.get("inputs")
    output_tokens = generated if isinstance(generated, int) else estimate_text_tokens(text)
    input_tokens = len(prefill) if isinstance(prefill, list) and prefill else None
    return TokenUsage(
        input_tokens=input_tokens or estimate_prompt_tokens(messages),
        output_tokens=output_tokens,
        estimated=input_tokens is None or not isinstance(generated, int),
    )


def parse_invoke_reply(body: bytes) -> tuple[str, Mapping[str, Any] | None]:
    """`generated_text` and `details` of a reply that is a list of one object, or the object."""
    try:
        reply = json.loads(body)
        if isinstance(reply, list):
            reply = reply[0]
        text = reply["generated_text"]
        details = reply.get("details")
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as error:
        raise BackendError(
            "sagemaker: malformed reply", detail=repr(body[:UPSTREAM_DETAIL_CHARS])
        ) from error
    if not isinstance(text, str):
        raise BackendError(
            "sagemaker: generated_text is not text", detail=repr(body[:UPSTREAM_DETAIL_CHARS])
        )
    return text, details if isinstance(details, Mapping) else None


class StreamLines:
    """Complete lines out of PayloadPart chunks that may split a line anywhere."""

    def __init__(self) -> None:
        self._pending = b""

    def feed(self, chunk: bytes) -> Iterator[bytes]:
        self._pending += chunk
        *lines, self._pending = self._pending.split(b"\n")
        yield from (line for line in lines if line.strip())

    def rest(self) -> Iterator[bytes]:
        line, self._pending = self._pending, b""
        if line.strip():
            yield line


def parse_stream_line(line: bytes) -> Mapping[str, Any] | None:
    """One TGI (`data:{...}`) or LMI (`{...}`) line as JSON; None for SSE comments and events."""
    text = line.decode("utf-8", errors="replace").strip()
    if text.startswith("data:"):
        text = text[len("data:") :].strip()
    elif not text.startswith("{"):
        return None
    try:
        event = json.loads(text)
    except ValueError as error:
        raise BackendError(
            "sagemaker: malformed stream line", detail=repr(text[:UPSTREAM_DETAIL_CHARS])
        ) from error
    if not isinstance(event, Mapping):
        raise BackendError(
            "sagemaker: malformed stream line", detail=repr(text[:UPSTREAM_DETAIL_CHARS])
        )
    return event


def _token_text(event: Mapping[str, Any]) -> str:
    token = event.get("token")
    # TGI marks special tokens `special`, LMI `special_token` (its error line is one).
    if not isinstance(token, Mapping) or token.get("special") or token.get("special_token"):
        return ""
    text = token.get("text")
    return text if isinstance(text, str) else ""


@dataclass
class _StreamedAnswer:
    """What the stream said so far."""

    parts: list[str]
    details: Mapping[str, Any] | None = None

    def take(self, line: bytes) -> str:
        """The text a line adds (maybe none); remembers `details` of the final line."""
        event = parse_stream_line(line)
        if event is None:
            return ""
        if "error" in event:
            raise BackendError(
                "sagemaker: the model failed mid-stream",
                detail=str(event["error"])[:UPSTREAM_DETAIL_CHARS],
            )
        if isinstance(event.get("details"), Mapping):
            self.details = event["details"]
            _refuse_failed(self.details)
        text = _token_text(event)
        if text:
            self.parts.append(text)
        return text


def _invoke_and_read(client: SageMakerRuntimeClient, arguments: dict[str, Any]) -> bytes:
    # The body is read on the pool thread too: reading it is network I/O.
    reply = client.invoke_endpoint(**arguments)
    return reply["Body"].read()


class SageMakerGenerator:
    """One endpoint (or one inference component of it)."""

    name = "sagemaker"
    # The model's vocabulary is remote: its prompts are counted with the estimate.
    tokenizer: Tokenizer | None = None

    def __init__(
        self,
        client: SageMakerRuntimeClient,
        endpoint_name: str,
        payload_format: PayloadFormat,
        pool: BlockingPool,
        policy: RetryPolicy,
        *,
        limits: GenerationLimits = DEFAULT_LIMITS,
        inference_component: str | None = None,
        custom_attributes: str | None = None,
    ) -> None:
        self.model_id = (
            f"{endpoint_name}/{inference_component}" if inference_component else endpoint_name
        )
        self.limits = limits
        self.client = client
        self._format = payload_format
        self._pool = pool
        self._policy = policy
        self._fixed_arguments: dict[str, Any] = {
            "EndpointName": endpoint_name,
            "ContentType": JSON,
            "Accept": JSON,
        }
        if inference_component:
            self._fixed_arguments["InferenceComponentName"] = inference_component
        if custom_attributes:
            self._fixed_arguments["CustomAttributes"] = custom_attributes

    async def generate(
        self, messages: Sequence[ChatMessage], params: GenerationParams
    ) -> Generation:
        arguments = {**self._fixed_arguments, "Body": self._format.body(messages, params, False)}
        body = await call_with_retries(
            lambda: self._pool.run(_invoke_and_read, self.client, arguments),
            self._policy,
            self.name,
        )
        text, details = parse_invoke_reply(body)
        _refuse_failed(details)
        text = self._format.without_stop(text)
        return Generation(
            text, self.model_id, usage_from_details(details, messages, text), _finish(details)
        )

    async def stream(
        self, messages: Sequence[ChatMessage], params: GenerationParams
    ) -> AsyncGenerator[GenerationEvent, None]:
        deadline = asyncio.get_running_loop().time() + self._policy.deadline_s
        arguments = {**self._fixed_arguments, "Body": self._format.body(messages, params, True)}
        arguments.pop("Accept")  # the stream's content type is the container's to choose
        call = functools.partial(self.client.invoke_endpoint_with_response_stream, **arguments)

        async def open_stream() -> AsyncIterator[Any]:
            event_stream = (await self._pool.run(call))["Body"]
            parsed = events_with_error_fields(event_stream)
            return self._pool.iterate(parsed, close=event_stream.close)

        lines = StreamLines()
        answer = _StreamedAnswer([])
        events = retry_until_first_text(
            open_stream, _carries_payload, self._policy, self.name, deadline
        )
        async with aclosing(events):
            async for event in events:
                chunk = event.get("PayloadPart", {}).get("Bytes", b"")
                for line in lines.feed(chunk):
                    if text := answer.take(line):
                        yield TextDelta(text)
        for line in lines.rest():
            if text := answer.take(line):
                yield TextDelta(text)
        text = self._format.without_stop("".join(answer.parts))
        usage = usage_from_details(answer.details, messages, text)
        yield Generation(text, self.model_id, usage, _finish(answer.details))

    async def aclose(self) -> None:
        self.client.close()


def _carries_payload(event: Mapping[str, Any]) -> bool:
    # Conservative: any payload may hold text, so a failure after one is not retried.
    return bool(event.get("PayloadPart", {}).get("Bytes"))


def _refuse_failed(details: Mapping[str, Any] | None) -> None:
    if (details or {}).get("finish_reason") == FAILED:
        raise BackendError("sagemaker: the model failed mid-generation (finish_reason: error)")


def _finish(details: Mapping[str, Any] | None) -> str | None:
    reason = (details or {}).get("finish_reason")
    return FINISH_REASONS.get(reason, reason) if isinstance(reason, str) else None


def _endpoint_for(settings: SageMakerSettings, role: GeneratorRole) -> str:
    endpoint = settings.endpoint_name
    if role == "base" and settings.base_endpoint_name:
        endpoint = settings.base_endpoint_name
    if not endpoint:
        raise ValueError(
            f"the {role} generator is sagemaker but FMT_SAGEMAKER__ENDPOINT_NAME is not set"
        )
    return endpoint


def build_sagemaker_generator(settings: Settings, role: GeneratorRole) -> SageMakerGenerator:
    """The tuned endpoint, or for the base role FMT_SAGEMAKER__BASE_ENDPOINT_NAME if set."""
    sagemaker = settings.sagemaker
    limits = sagemaker_limits(sagemaker)
    refuse_unusable_defaults("sagemaker", limits, settings.generation)
    return SageMakerGenerator(
        sagemaker_runtime_client(sagemaker),
        _endpoint_for(sagemaker, role),
        PayloadFormat(top_p=sagemaker.top_p, stop=tuple(sagemaker.stop)),
        shared_pool(settings.retry.blocking_threads),
        RetryPolicy.from_settings(settings.retry, settings.generation.timeout_s),
        limits=limits,
        inference_component=sagemaker.inference_component,
        custom_attributes=sagemaker.custom_attributes,
    )
