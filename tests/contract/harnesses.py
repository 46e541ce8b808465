"""One harness per backend: the backend, and ways to make its service answer, throttle or hang."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Sequence
from typing import Protocol

import httpx
import respx
from botocore.response import StreamingBody
from botocore.stub import Stubber

from app.core.errors import BackendThrottled, BackendTimeout
from app.core.types import Passage
from app.generators.base import Generator
from app.generators.bedrock import BedrockGenerator
from app.generators.openai import OpenAIGenerator, openai_client
from app.generators.sagemaker import PayloadFormat, SageMakerGenerator
from app.resilience.blocking import BlockingPool
from app.resilience.retry import RetryPolicy
from app.retrievers.base import Retriever
from app.retrievers.bedrock_kb import BedrockKnowledgeBaseRetriever
from app.settings import BedrockSettings, OpenAISettings, SageMakerSettings
from app.wiring.fakes import FakeGenerator, FakeRetriever
from tests.contract.aws_stubs import (
    converse_stream_events,
    hang_then_time_out,
    payload_parts,
    real_client,
    serve_event_stream,
    tgi_stream_lines,
)

# Short deadline so that "hangs" end quickly; attempts without backoff.
CONTRACT_POLICY = RetryPolicy(max_attempts=3, base_delay_s=0.0, max_delay_s=0.0, deadline_s=0.5)


class GeneratorHarness(Protocol):
    generator: Generator

    def will_answer(self, text: str) -> None: ...

    def will_stream(self, pieces: Sequence[str]) -> None: ...

    def will_throttle(self) -> None: ...

    def will_hang(self) -> None: ...

    def finish(self) -> None: ...


class RetrieverHarness(Protocol):
    retriever: Retriever

    def will_find(self, texts: Sequence[str]) -> None: ...

    def will_throttle(self) -> None: ...

    def finish(self) -> None: ...


class FakeGeneratorHarness:
    def __init__(self) -> None:
        self.fake = FakeGenerator()
        self.generator: Generator = self.fake

    def will_answer(self, text: str) -> None:
        self.fake.answer = text

    def will_stream(self, pieces: Sequence[str]) -> None:
        self.fake.answer = "".join(pieces)

    def will_throttle(self) -> None:
        self.fake.failures = lambda _call: BackendThrottled("fake: throttled")

    def will_hang(self) -> None:
        self.fake.failures = lambda _call: BackendTimeout("fake: deadline passed")

    def finish(self) -> None:
        return None


class _AwsHarness:
    """Stubber for whole replies, event-stream hooks for streams, a hang for timeouts."""

    operation: str
    stream_operation: str

    def __init__(self, client: object, pool: BlockingPool) -> None:
        self.stubber = Stubber(client)  # type: ignore[arg-type]
        self.client = client
        self.pool = pool
        self._release: threading.Event | None = None

    def will_throttle(self) -> None:
        for _ in range(CONTRACT_POLICY.max_attempts):
            self.stubber.add_client_error(
                _snake(self.operation), "ThrottlingException", "Rate exceeded", 429
            )
        self.stubber.activate()

    def will_hang(self) -> None:
        self._release = hang_then_time_out(self.client, self.operation, hang_s=10)  # type: ignore[arg-type]

    def finish(self) -> None:
        self.stubber.deactivate()
        if self._release is not None:
            self._release.set()
        self.pool.shutdown()


def _snake(operation: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in operation).lstrip("_")


class BedrockGeneratorHarness(_AwsHarness):
    operation = "Converse"

    def __init__(self) -> None:
        super().__init__(real_client("bedrock-runtime", BedrockSettings()), BlockingPool(4))
        self.generator: Generator = BedrockGenerator(
            self.client,  # type: ignore[arg-type]
            "meta.llama3-1-8b-instruct-v1:0",
            self.pool,
            CONTRACT_POLICY,
        )

    def will_answer(self, text: str) -> None:
        reply = {
            "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
            "stopReason": "end_turn",
            "usage": {"inputTokens": 12, "outputTokens": 4, "totalTokens": 16},
            "metrics": {"latencyMs": 10},
        }
        self.stubber.add_response("converse", reply)
        self.stubber.activate()

    def will_stream(self, pieces: Sequence[str]) -> None:
        serve_event_stream(self.client, "ConverseStream", converse_stream_events(pieces))  # type: ignore[arg-type]


class SageMakerGeneratorHarness(_AwsHarness):
    operation = "InvokeEndpoint"

    def __init__(self) -> None:
        super().__init__(real_client("sagemaker-runtime", SageMakerSettings()), BlockingPool(4))
        self.generator: Generator = SageMakerGenerator(
            self.client,  # type: ignore[arg-type]
            "catalog-llama3-tuned",
            PayloadFormat(top_p=0.9, stop=("<|eot_id|>",)),
            self.pool,
            CONTRACT_POLICY,
        )

    def will_answer(self, text: str) -> None:
        raw = json.dumps([{"generated_text": text}]).encode()
        reply = {
            "Body": StreamingBody(io.BytesIO(raw), len(raw)),
            "ContentType": "application/json",
        }
        self.stubber.add_response("invoke_endpoint", reply)
        self.stubber.activate()

    def will_stream(self, pieces: Sequence[str]) -> None:
        data = tgi_stream_lines(pieces, generated_tokens=len(pieces))
        serve_event_stream(
            self.client,  # type: ignore[arg-type]
            "InvokeEndpointWithResponseStream",
            payload_parts(data, [len(data) // 3, len(data) // 3]),
        )


class OpenAIGeneratorHarness:
    base_url = "http://127.0.0.1:8080/v1"

    def __init__(self) -> None:
        self.router = respx.mock(assert_all_called=False)
        self.router.start()
        self.route = self.router.post(f"{self.base_url}/chat/completions")
        client = openai_client(OpenAISettings(base_url=self.base_url))
        self.generator: Generator = OpenAIGenerator(client, "llama-3-8b", CONTRACT_POLICY)

    def will_answer(self, text: str) -> None:
        reply = {
            "model": "llama-3-8b",
            "choices": [
                {"message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
            ],
            "usage": {"prompt_tokens": 12, "completion_tokens": 4},
        }
        self.route.mock(return_value=httpx.Response(200, json=reply))

    def will_stream(self, pieces: Sequence[str]) -> None:
        chunks = [{"choices": [{"delta": {"content": piece}}]} for piece in pieces]
        chunks.append({"choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": 4}})  # type: ignore[dict-item]
        body = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
        self.route.mock(return_value=httpx.Response(200, content=body.encode()))

    def will_throttle(self) -> None:
        self.route.mock(return_value=httpx.Response(429, text="rate limited"))

    def will_hang(self) -> None:
        self.route.mock(side_effect=httpx.ReadTimeout("no answer"))

    def finish(self) -> None:
        self.router.stop()


class FakeRetrieverHarness:
    def __init__(self) -> None:
        self.fake = FakeRetriever([])
        self.retriever: Retriever = self.fake

    def will_find(self, texts: Sequence[str]) -> None:
        self.fake.passages = [
            Passage(f"p{i}", f"Product {i}", text, 1.0 / (i + 1), f"catalog.txt#{i}")
            for i, text in enumerate(texts)
        ]

    def will_throttle(self) -> None:
        self.fake.failures = lambda _call: BackendThrottled("fake: throttled")

    def finish(self) -> None:
        return None


class BedrockKnowledgeBaseHarness(_AwsHarness):
    operation = "Retrieve"

    def __init__(self) -> None:
        super().__init__(real_client("bedrock-agent-runtime", BedrockSettings()), BlockingPool(4))
        self.retriever: Retriever = BedrockKnowledgeBaseRetriever(
            self.client,  # type: ignore[arg-type]
            "KBCATALOG1",
            self.pool,
            CONTRACT_POLICY,
        )

    def will_find(self, texts: Sequence[str]) -> None:
        results = [
            {
                "content": {"text": text},
                "location": {"type": "S3", "s3Location": {"uri": f"s3://kb/doc-{i}.txt"}},
                "score": 1.0 / (i + 1),
            }
            for i, text in enumerate(texts)
        ]
        self.stubber.add_response("retrieve", {"retrievalResults": results})
        self.stubber.activate()
