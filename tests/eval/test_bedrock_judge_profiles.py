"""A Bedrock judge whose model is served only through an inference profile switches to it."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from botocore.stub import Stubber

from eval.judges.bedrock import BedrockJudge, profile_id

REFUSAL = (
    "Invocation of model ID meta.llama3-1-70b-instruct-v1:0 with on-demand throughput isn't "
    "supported. Retry your request with the ID or ARN of an inference profile that contains "
    "this model."
)
REPLY = {
    "output": {"message": {"role": "assistant", "content": [{"text": "4"}]}},
    "stopReason": "end_turn",
    "usage": {"inputTokens": 5, "outputTokens": 1, "totalTokens": 6},
    "metrics": {"latencyMs": 10},
}


def test_a_model_refused_on_demand_is_asked_again_through_the_regions_profile() -> None:
    client = boto3.client(
        "bedrock-runtime", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    judge = BedrockJudge("meta.llama3-1-70b-instruct-v1:0", client, ThreadPoolExecutor(1))
    with Stubber(client) as stub:
        stub.add_client_error("converse", "ValidationException", REFUSAL, 400)
        stub.add_response(
            "converse", REPLY, {"modelId": "eu.meta.llama3-1-70b-instruct-v1:0", **_ANY_BODY}
        )
        stub.add_response(
            "converse", REPLY, {"modelId": "eu.meta.llama3-1-70b-instruct-v1:0", **_ANY_BODY}
        )
        assert asyncio.run(judge.complete("Grade this.")) == "4"
        # The profile is kept: the next call goes to it directly.
        assert asyncio.run(judge.complete("Grade this.")) == "4"
        stub.assert_no_pending_responses()


_ANY_BODY = {
    "messages": [{"role": "user", "content": [{"text": "Grade this."}]}],
    "inferenceConfig": {"maxTokens": 200, "temperature": 0.0},
}


@pytest.mark.parametrize(
    ("model_id", "region", "expected"),
    [
        (
            "anthropic.claude-3-haiku-20240307-v1:0",
            "us-west-2",
            "us.anthropic.claude-3-haiku-20240307-v1:0",
        ),
        (
            "mistral.mixtral-8x7b-instruct-v0:1",
            "ap-southeast-2",
            "apac.mistral.mixtral-8x7b-instruct-v0:1",
        ),
        ("us.meta.llama3-1-8b-instruct-v1:0", "us-east-1", None),
        ("arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abc", "us-east-1", None),
        ("cohere.command-r-plus-v1:0", "sa-east-1", None),
    ],
)
def test_profile_ids_follow_the_regions_geography(
    model_id: str, region: str, expected: str | None
) -> None:
    assert profile_id(model_id, region) == expected
