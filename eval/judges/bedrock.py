"""Judges on Amazon Bedrock through the Converse API (any model that Converse serves)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from eval.judges.base import JudgeCallError

# The reference sample's jury: three model families, so no judge grades its own family alone.
REFERENCE_JUDGE_MODELS: tuple[str, ...] = (
    "mistral.mixtral-8x7b-instruct-v0:1",
    "cohere.command-r-plus-v1:0",
    "anthropic.claude-3-haiku-20240307-v1:0",
)


# Bedrock's ValidationException for a model served only through a cross-region inference
# profile (Llama 3.1+, newer Claude and Mistral models in most regions).
_ON_DEMAND_REFUSED = "on-demand throughput isn"
_GEOGRAPHIES = (("us-gov-", "us-gov"), ("us-", "us"), ("eu-", "eu"), ("ap-", "apac"))
_PROFILE_PREFIXES = frozenset({"us", "us-gov", "eu", "apac", "global", "jp", "au", "ca"})


def profile_id(model_id: str, region: str | None) -> str | None:
    """The region's system-defined inference profile of `model_id`; None if it has a prefix
    already or the region's geography is unknown."""
    if model_id.startswith("arn:") or model_id.split(".", 1)[0] in _PROFILE_PREFIXES:
        return None
    geography = next((g for start, g in _GEOGRAPHIES if (region or "").startswith(start)), None)
    return f"{geography}.{model_id}" if geography else None


def make_bedrock_client(region: str | None, timeout_s: float, pool: int) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=10,
        read_timeout=timeout_s,
        max_pool_connections=pool,
        retries={"max_attempts": 6, "mode": "adaptive"},
    )
    return boto3.client("bedrock-runtime", region_name=region, config=config)


class BedrockJudge:
    """One Bedrock model as a judge; the blocking boto3 call runs on a bounded executor."""

    def __init__(
        self, model_id: str, client: Any, executor: ThreadPoolExecutor, max_tokens: int = 200
    ) -> None:
        self.name = f"bedrock:{model_id}"
        self.model_id = model_id
        self.client = client
        self.executor = executor
        self.max_tokens = max_tokens

    def _converse(self, prompt: str) -> str:
        # boto3 is imported only when a Bedrock judge is chosen: an offline eval needs no AWS.
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            try:
                response = self._send(prompt)
            except ClientError as error:
                # Served only through the region's inference profile: switch to it, once.
                profile = profile_id(self.model_id, self.client.meta.region_name)
                if _ON_DEMAND_REFUSED not in str(error) or profile is None:
                    raise
                self.model_id = profile
                response = self._send(prompt)
        except (ClientError, BotoCoreError) as error:
            raise JudgeCallError(f"{self.name}: {error}") from error
        blocks = response.get("output", {}).get("message", {}).get("content", [])
        return "".join(block.get("text", "") for block in blocks)

    def _send(self, prompt: str) -> Any:
        return self.client.converse(
            modelId=self.model_id,
            messages=[{"role": "user", "content": [{"text": prompt}]}],
            inferenceConfig={"maxTokens": self.max_tokens, "temperature": 0.0},
        )

    async def complete(self, prompt: str) -> str:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, self._converse, prompt)

    async def aclose(self) -> None:
        return None
