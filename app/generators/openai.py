"""Any OpenAI-compatible /v1/chat/completions server (vLLM, llama.cpp, Ollama, TGI) over httpx."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any

import httpx

from app.core.errors import UPSTREAM_DETAIL_CHARS, BackendError
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
from app.generators.limits import (
    OPENAI_TEMPERATURE,
    OPENAI_TOP_P,
    refuse_unusable_defaults,
    within_window,
)
from app.resilience.retry import RetryPolicy, call_with_retries, within_deadline
from app.settings import OpenAISettings, Settings

COMPLETIONS_PATH = "/chat/completions"
DONE = "[DONE]"


def openai_limits(settings: OpenAISettings) -> GenerationLimits:
    """The chat completions API's sampling ranges; the answer must fit the model's context."""
    return within_window(OPENAI_TEMPERATURE, OPENAI_TOP_P, settings.context_tokens)


DEFAULT_LIMITS = openai_limits(OpenAISettings())


def _usage(reply_usage: object) -> TokenUsage | None:
    if not isinstance(reply_usage, Mapping):
        return None
    prompt, completion = reply_usage.get("prompt_tokens"), reply_usage.get("completion_tokens")
    if not isinstance(prompt, int) or not isinstance(completion, int):
        return None
    return TokenUsage(prompt, completion)


def parse_completion(
    reply: Mapping[str, Any], messages: Sequence[ChatMessage], model_id: str
) -> Generation:
    """The Generation in a chat completion; usage is estimated when the server gives none."""
    try:
        choice = reply["choices"][0]
        text = choice["message"]["content"] or ""
        finish_reason = choice.get("finish_reason")
    except (KeyError, IndexError, TypeError) as error:
        raise BackendError(
            "openai: malformed chat completion", detail=str(reply)[:UPSTREAM_DETAIL_CHARS]
        ) from error
    if not isinstance(text, str):
        raise BackendError("openai: the completion's content is not text")
    usage = _usage(reply.get("usage")) or estimated_usage(messages, text)
    model = reply.get("model")
    return Generation(text, model if isinstance(model, str) else model_id, usage, finish_reason)


@dataclass
class _StreamedAnswer:
    """What the stream said so far."""

    parts: list[str] = field(default_factory=list)
    usage: TokenUsage | None = None
    finish_reason: str | None = None
    model: str | None = None
    done: bool = False

    def take(self, line: str) -> str:
        """The text one SSE line adds (maybe none); `done` once the server sent [DONE]."""
        if not line.startswith("data:"):
            return ""
        data = line[len("data:") :].strip()
        if data == DONE:
            self.done = True
            return ""
        try:
            chunk = json.loads(data)
            if "error" in chunk:
                raise BackendError(
                    "openai: the server failed mid-stream",
                    detail=str(chunk["error"])[:UPSTREAM_DETAIL_CHARS],
                )
            self.usage = _usage(chunk.get("usage")) or self.usage
            self.model = chunk.get("model") or self.model
            text = ""
            for choice in chunk.get("choices") or []:
                text += choice.get("delta", {}).get("content") or ""
                self.finish_reason = choice.get("finish_reason") or self.finish_reason
        except (ValueError, AttributeError, TypeError) as error:
            raise BackendError(
                "openai: malformed stream chunk", detail=repr(data[:UPSTREAM_DETAIL_CHARS])
            ) from error
        self.parts.append(text)
        return text


class OpenAIGenerator:
    """One model name on an OpenAI-compatible server."""

    name = "openai"
    # The model's vocabulary is remote: its prompts are counted with the estimate.
    tokenizer: Tokenizer | None = None

    def __init__(
        self,
        client: httpx.AsyncClient,
        model_id: str,
        policy: RetryPolicy,
        limits: GenerationLimits = DEFAULT_LIMITS,
    ) -> None:
        self.model_id = model_id
        self.limits = limits
        self._client = client
        self._policy = policy

    def _body(
        self, messages: Sequence[ChatMessage], params: GenerationParams, stream: bool
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model_id,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "max_tokens": params.max_tokens,
            "temperature": params.temperature,
            "stream": stream,
        }
        if stream:
            body["stream_options"] = {"include_usage": True}
        return body

    async def generate(
        self, messages: Sequence[ChatMessage], params: GenerationParams
    ) -> Generation:
        body = self._body(messages, params, stream=False)

        async def attempt() -> Any:
            response = await self._client.post(COMPLETIONS_PATH, json=body)
            response.raise_for_status()
            try:
                return response.json()
            except ValueError as error:
                raise BackendError(
                    "openai: reply is not JSON",
                    detail=repr(response.text[:UPSTREAM_DETAIL_CHARS]),
                ) from error

        reply = await call_with_retries(attempt, self._policy, self.name)
        if not isinstance(reply, Mapping):
            raise BackendError(
                "openai: malformed chat completion", detail=str(reply)[:UPSTREAM_DETAIL_CHARS]
            )
        return parse_completion(reply, messages, self.model_id)

    async def _open_stream(self, body: dict[str, Any]) -> httpx.Response:
        request = self._client.build_request("POST", COMPLETIONS_PATH, json=body)
        response = await self._client.send(request, stream=True)
        if response.is_error:
            await response.aread()
            await response.aclose()
            response.raise_for_status()
        return response

    async def stream(
        self, messages: Sequence[ChatMessage], params: GenerationParams
    ) -> AsyncGenerator[GenerationEvent, None]:
        deadline = asyncio.get_running_loop().time() + self._policy.deadline_s
        body = self._body(messages, params, stream=True)
        response = await call_with_retries(
            lambda: self._open_stream(body), self._policy, self.name, deadline=deadline
        )
        answer = _StreamedAnswer()
        lines = within_deadline(
            response.aiter_lines(), deadline, self.name, self._policy.deadline_s
        )
        try:
            async with aclosing(lines):
                async for line in lines:
                    if text := answer.take(line):
                        yield TextDelta(text)
                    if answer.done:
                        break
        finally:
            await response.aclose()
        text = "".join(answer.parts)
        yield Generation(
            text,
            answer.model or self.model_id,
            answer.usage or estimated_usage(messages, text),
            answer.finish_reason,
        )

    async def aclose(self) -> None:
        await self._client.aclose()


def openai_client(settings: OpenAISettings) -> httpx.AsyncClient:
    """One pooled client per generator; the key goes in the Authorization header."""
    headers = {"Content-Type": "application/json"}
    if settings.api_key is not None:
        headers["Authorization"] = f"Bearer {settings.api_key.get_secret_value()}"
    return httpx.AsyncClient(
        base_url=settings.base_url,
        headers=headers,
        timeout=httpx.Timeout(settings.timeout_s),
        limits=httpx.Limits(
            max_connections=settings.max_connections,
            max_keepalive_connections=settings.max_connections,
        ),
    )


def build_openai_generator(settings: Settings, role: GeneratorRole) -> OpenAIGenerator:
    """`model`, or for the tuned role `tuned_model` when set."""
    model = settings.openai.model
    if role == "tuned" and settings.openai.tuned_model:
        model = settings.openai.tuned_model
    limits = openai_limits(settings.openai)
    refuse_unusable_defaults("openai", limits, settings.generation)
    return OpenAIGenerator(
        openai_client(settings.openai),
        model,
        RetryPolicy.from_settings(settings.retry, settings.generation.timeout_s),
        limits,
    )
