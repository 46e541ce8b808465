"""Judges on any OpenAI-compatible /v1/chat/completions server (vLLM, Ollama, llama.cpp, TGI)."""

from __future__ import annotations

import asyncio
from typing import Literal

import httpx

from eval.client import RETRIED_STATUS
from eval.judges.base import VERDICT_SCHEMA, JudgeCallError

StructuredOutput = Literal["off", "json_object", "json_schema"]


def response_format(
    kind: StructuredOutput, schema: dict[str, object] = VERDICT_SCHEMA
) -> dict[str, object] | None:
    """How to ask a server to constrain its reply to the verdict's schema: `json_object` with a
    `schema` (llama.cpp's server), `json_schema` (OpenAI, vLLM); `off` sends nothing."""
    if kind == "json_object":
        return {"type": "json_object", "schema": schema}
    if kind == "json_schema":
        return {
            "type": "json_schema",
            "json_schema": {"name": "verdict", "schema": schema, "strict": True},
        }
    return None


class OpenAICompatibleJudge:
    """One model behind an OpenAI-compatible server; retries throttling and server errors."""

    def __init__(
        self,
        model: str,
        base_url: str,
        client: httpx.AsyncClient,
        api_key: str | None = None,
        max_tokens: int = 200,
        max_attempts: int = 4,
        response_format: dict[str, object] | None = None,
    ) -> None:
        self.name = f"openai:{model}"
        self.model = model
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.client = client
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.max_tokens = max_tokens
        self.max_attempts = max_attempts
        self.response_format = response_format

    async def complete(self, prompt: str) -> str:
        body: dict[str, object] = {
            "model": self.model,
            "messages": [{"role": "user", "content": prompt}],
            "temperature": 0.0,
            "max_tokens": self.max_tokens,
        }
        if self.response_format is not None:
            body["response_format"] = self.response_format
        problem = "not attempted"
        for attempt in range(1, self.max_attempts + 1):
            try:
                response = await self.client.post(self.url, json=body, headers=self.headers)
            except httpx.TransportError as error:
                problem = f"{type(error).__name__}: {error}"
            else:
                if response.status_code == 200:
                    return self._text(response)
                problem = f"HTTP {response.status_code}: {response.text[:300]}"
                if response.status_code not in RETRIED_STATUS:
                    break
            if attempt < self.max_attempts:
                await asyncio.sleep(min(10.0, 0.5 * 2 ** (attempt - 1)))
        raise JudgeCallError(f"{self.name}: {problem}")

    def _text(self, response: httpx.Response) -> str:
        try:
            content = response.json()["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError) as error:
            raise JudgeCallError(f"{self.name}: unexpected reply shape: {error}") from error
        return str(content or "")

    async def aclose(self) -> None:
        return None
