"""Amazon Bedrock generation through the Converse API, and ConverseStream for streaming."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from contextlib import aclosing
from typing import TYPE_CHECKING, Any, Literal

from app.core.aws_clients import bedrock_runtime_client
from app.core.errors import BackendError
from app.core.token_count import estimated_usage
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
from app.generators.bedrock_models import MODEL_ID_SETTING, resolve_model_id
from app.generators.limits import CONVERSE_TEMPERATURE, CONVERSE_TOP_P, refuse_unusable_defaults
from app.generators.streaming import retry_until_first_text
from app.resilience.blocking import BlockingPool, shared_pool
from app.resilience.retry import RetryPolicy, call_with_retries
from app.settings import BedrockSettings, Settings

if TYPE_CHECKING:
    from mypy_boto3_bedrock_runtime import BedrockRuntimeClient
    from mypy_boto3_bedrock_runtime.type_defs import (
        InferenceConfigurationTypeDef,
        MessageUnionTypeDef,
        SystemContentBlockTypeDef,
    )

# Converse stop reasons in the words the other backends use.
FINISH_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length"}


def converse_limits(settings: BedrockSettings) -> GenerationLimits:
    """Converse's sampling ranges; the model's output limit and context window from settings."""
    return GenerationLimits(
        temperature=CONVERSE_TEMPERATURE,
        top_p=CONVERSE_TOP_P,
        max_tokens=settings.max_output_tokens,
        context_tokens=settings.context_tokens,
    )


DEFAULT_LIMITS = converse_limits(BedrockSettings())


def _finish_reason(stop_reason: object) -> str | None:
    if not isinstance(stop_reason, str):
        return None
    return FINISH_REASONS.get(stop_reason, stop_reason)


def _usage(reply_usage: Mapping[str, Any]) -> TokenUsage:
    return TokenUsage(int(reply_usage["inputTokens"]), int(reply_usage["outputTokens"]))


def parse_converse_reply(reply: Mapping[str, Any], model_id: str) -> Generation:
    """The Generation in a Converse reply; a reply without text or usage is a BackendError."""
    try:
        blocks = reply["output"]["message"]["content"]
        text = "".join(block["text"] for block in blocks if "text" in block)
        usage = _usage(reply["usage"])
    except (KeyError, TypeError, ValueError) as error:
        raise BackendError(f"bedrock: malformed Converse reply (missing {error})") from error
    return Generation(text, model_id, usage, _finish_reason(reply.get("stopReason")))


class BedrockGenerator:
    """A Bedrock model (a foundation model id, an inference profile or a custom model ARN)."""

    name = "bedrock"
    # The model's vocabulary is remote: its prompts are counted with the estimate.
    tokenizer: Tokenizer | None = None

    def __init__(
        self,
        client: BedrockRuntimeClient,
        model_id: str,
        pool: BlockingPool,
        policy: RetryPolicy,
        limits: GenerationLimits = DEFAULT_LIMITS,
    ) -> None:
        self.model_id = model_id
        self.limits = limits
        self.client = client
        self._pool = pool
        self._policy = policy

    def _arguments(
        self, messages: Sequence[ChatMessage], params: GenerationParams
    ) -> dict[str, Any]:
        system: list[SystemContentBlockTypeDef] = [
            {"text": m.content} for m in messages if m.role == "system"
        ]
        turns: list[MessageUnionTypeDef] = [
            {"role": _turn_role(m.role), "content": [{"text": m.content}]}
            for m in messages
            if m.role != "system"
        ]
        inference: InferenceConfigurationTypeDef = {
            "maxTokens": params.max_tokens,
            "temperature": params.temperature,
        }
        arguments: dict[str, Any] = {
            "modelId": self.model_id,
            "messages": turns,
            "inferenceConfig": inference,
        }
        if system:
            arguments["system"] = system
        return arguments

    async def generate(
        self, messages: Sequence[ChatMessage], params: GenerationParams
    ) -> Generation:
        call = functools.partial(self.client.converse, **self._arguments(messages, params))
        reply = await call_with_retries(lambda: self._pool.run(call), self._policy, self.name)
        return parse_converse_reply(reply, self.model_id)

    async def stream(
        self, messages: Sequence[ChatMessage], params: GenerationParams
    ) -> AsyncGenerator[GenerationEvent, None]:
        deadline = asyncio.get_running_loop().time() + self._policy.deadline_s
        call = functools.partial(self.client.converse_stream, **self._arguments(messages, params))

        async def open_stream() -> AsyncIterator[Any]:
            event_stream = (await self._pool.run(call))["stream"]
            return self._pool.iterate(event_stream, close=event_stream.close)

        parts: list[str] = []
        usage: TokenUsage | None = None
        stop_reason: object = None
        events = retry_until_first_text(
            open_stream, _carries_text, self._policy, self.name, deadline
        )
        async with aclosing(events):
            async for event in events:
                if "contentBlockDelta" in event:
                    text = event["contentBlockDelta"]["delta"].get("text")
                    if text:
                        parts.append(text)
                        yield TextDelta(text)
                elif "messageStop" in event:
                    stop_reason = event["messageStop"].get("stopReason")
                elif "metadata" in event:
                    usage = _usage(event["metadata"]["usage"])
        text = "".join(parts)
        if usage is None:  # a stream cut short of its metadata event
            usage = estimated_usage(messages, text)
        yield Generation(text, self.model_id, usage, _finish_reason(stop_reason))

    async def aclose(self) -> None:
        self.client.close()


def _carries_text(event: Mapping[str, Any]) -> bool:
    return bool(event.get("contentBlockDelta", {}).get("delta", {}).get("text"))


def _turn_role(role: str) -> Literal["user", "assistant"]:
    return "assistant" if role == "assistant" else "user"


def build_bedrock_generator(settings: Settings, role: GeneratorRole) -> BedrockGenerator:
    """The base model, or the tuned one (FMT_BEDROCK__TUNED_MODEL_ID), by an id that works in
    the client's region (ValueError naming the setting when it cannot)."""
    model_id, setting = settings.bedrock.model_id, MODEL_ID_SETTING
    if role == "tuned":
        if not settings.bedrock.tuned_model_id:
            raise ValueError(
                "FMT_TUNED_GENERATOR=bedrock needs FMT_BEDROCK__TUNED_MODEL_ID "
                "(a custom model or provisioned throughput ARN)"
            )
        model_id, setting = settings.bedrock.tuned_model_id, "FMT_BEDROCK__TUNED_MODEL_ID"
    limits = converse_limits(settings.bedrock)
    refuse_unusable_defaults("bedrock", limits, settings.generation)
    client = bedrock_runtime_client(settings.bedrock)
    route = resolve_model_id(model_id, client.meta.region_name, setting)
    return BedrockGenerator(
        client,
        route.model_id,
        shared_pool(settings.retry.blocking_threads),
        RetryPolicy.from_settings(settings.retry, settings.generation.timeout_s),
        limits,
    )
