"""The service on AWS backends chosen by settings (bedrock-kb, bedrock, sagemaker), AWS stubbed."""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from app.generators.bedrock import BedrockGenerator
from app.generators.sagemaker import SageMakerGenerator
from app.main import create_app
from app.retrievers.bedrock_kb import BedrockKnowledgeBaseRetriever
from app.settings import Settings
from app.wiring.compose import Backends, build_backends
from tests.conftest import ANSWER_KEYS
from tests.contract.aws_stubs import (
    converse_stream_events,
    hang_then_time_out,
    payload_parts,
    serve_event_stream,
    tgi_stream_lines,
    use_fake_aws_credentials,
)
from tests.sse import sse_events

KB_ID = "KBCATALOG1"
ENDPOINT = "catalog-llama3-tuned"
# The default model, called through the region's cross-region inference profile.
BASE_MODEL = "us.meta.llama3-1-8b-instruct-v1:0"
DEADLINE_S = 0.5
QUESTION = {"question": "What pressure does the KX-420 run at?"}

RETRIEVED = {
    "retrievalResults": [
        {
            "content": {"text": "The KX-420 runs at 210 bar."},
            "location": {"type": "S3", "s3Location": {"uri": "s3://catalog/kb/kx-420.txt"}},
            "score": 0.8,
            "metadata": {"product": "Kestrel KX-420 Hydraulic Press"},
        }
    ]
}


def converse_reply(text: str) -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 50, "outputTokens": 6, "totalTokens": 56},
        "metrics": {"latencyMs": 5},
    }


def invoke_reply(text: str) -> dict[str, Any]:
    raw = json.dumps([{"generated_text": text, "details": {"generated_tokens": 5}}]).encode()
    return {"Body": StreamingBody(io.BytesIO(raw), len(raw)), "ContentType": "application/json"}


@dataclass
class Aws:
    """The stubbers of the three clients the backends were built with."""

    retriever: BedrockKnowledgeBaseRetriever
    bedrock: BedrockGenerator
    sagemaker: SageMakerGenerator
    kb: Stubber
    runtime: Stubber
    endpoint: Stubber

    def answers(self, retrievals: int = 0, converses: int = 0, invokes: int = 0) -> None:
        for _ in range(retrievals):
            self.kb.add_response("retrieve", RETRIEVED)
        for _ in range(converses):
            self.runtime.add_response("converse", converse_reply("Bedrock: 210 bar."))
        for _ in range(invokes):
            self.endpoint.add_response("invoke_endpoint", invoke_reply("Tuned: 210 bar."))
        # An active Stubber refuses every call it has no reply for, streams included.
        for stubber, count in (
            (self.kb, retrievals),
            (self.runtime, converses),
            (self.endpoint, invokes),
        ):
            if count:
                stubber.activate()


AWS_SETTINGS: dict[str, Any] = {
    "retriever": "bedrock-kb",
    "generator": "bedrock",
    "tuned_generator": "sagemaker",
    "bedrock": {"knowledge_base_id": KB_ID},
    "sagemaker": {"endpoint_name": ENDPOINT},
    "retry": {"max_attempts": 2, "base_delay_s": 0.0, "max_delay_s": 0.0},
    "generation": {"timeout_s": DEADLINE_S},
}


@pytest.fixture
def aws_settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    use_fake_aws_credentials(monkeypatch)
    return Settings(_env_file=None, **AWS_SETTINGS)


@pytest.fixture
def aws_backends(aws_settings: Settings) -> Iterator[Backends]:
    backends = build_backends(aws_settings)
    yield backends


@pytest.fixture
def aws(aws_backends: Backends) -> Aws:
    retriever, bedrock, sagemaker = (
        aws_backends.retriever,
        aws_backends.base_generator,
        aws_backends.tuned_generator,
    )
    assert isinstance(retriever, BedrockKnowledgeBaseRetriever)
    assert isinstance(bedrock, BedrockGenerator)
    assert isinstance(sagemaker, SageMakerGenerator)
    return Aws(
        retriever,
        bedrock,
        sagemaker,
        Stubber(retriever.client),
        Stubber(bedrock.client),
        Stubber(sagemaker.client),
    )


@pytest.fixture
async def aws_client(
    aws_settings: Settings, aws_backends: Backends
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(aws_settings, backends=aws_backends)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client
    await aws_backends.aclose()


@pytest.mark.parametrize(
    ("path", "answer", "model", "calls"),
    [
        ("/rag", "Bedrock: 210 bar.", BASE_MODEL, {"retrievals": 1, "converses": 1}),
        ("/finetuned", "Tuned: 210 bar.", ENDPOINT, {"invokes": 1}),
        ("/hybrid", "Tuned: 210 bar.", ENDPOINT, {"retrievals": 1, "invokes": 1}),
    ],
)
async def test_each_strategy_answers_through_aws(
    aws_client: httpx.AsyncClient,
    aws: Aws,
    path: str,
    answer: str,
    model: str,
    calls: dict[str, int],
) -> None:
    aws.answers(**calls)

    response = await aws_client.post(path, json=QUESTION)

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == ANSWER_KEYS
    assert (body["answer"], body["model"]) == (answer, model)
    assert body["usage"]["input_tokens"] > 0 and body["usage"]["output_tokens"] > 0
    if path == "/finetuned":
        assert body["sources"] == []
    else:
        assert body["sources"][0]["title"] == "Kestrel KX-420 Hydraulic Press"
        assert body["sources"][0]["location"] == "s3://catalog/kb/kx-420.txt"
    for stubber in (aws.kb, aws.runtime, aws.endpoint):
        stubber.assert_no_pending_responses()


async def test_compare_returns_the_three_answers(aws_client: httpx.AsyncClient, aws: Aws) -> None:
    aws.answers(retrievals=2, converses=1, invokes=2)

    response = await aws_client.post("/compare", json=QUESTION)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["errors"] == {}
    assert body["results"]["rag"]["answer"] == "Bedrock: 210 bar."
    assert body["results"]["finetuned"]["answer"] == "Tuned: 210 bar."
    assert body["results"]["hybrid"]["sources"][0]["location"] == "s3://catalog/kb/kx-420.txt"


@pytest.mark.parametrize("path", ["/rag", "/finetuned", "/hybrid"])
async def test_each_strategy_streams_sources_deltas_and_the_full_response(
    aws_client: httpx.AsyncClient, aws: Aws, path: str
) -> None:
    aws.answers(retrievals=0 if path == "/finetuned" else 1)
    serve_event_stream(
        aws.bedrock.client, "ConverseStream", converse_stream_events(["210", " bar."])
    )
    data = tgi_stream_lines(["210", " bar."], generated_tokens=2)
    serve_event_stream(
        aws.sagemaker.client, "InvokeEndpointWithResponseStream", payload_parts(data, [20])
    )

    response = await aws_client.post(path, json={**QUESTION, "stream": True})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response.text)
    names = [name for name, _ in events]
    expected_start = [] if path == "/finetuned" else ["sources"]
    assert names == [*expected_start, "delta", "delta", "done"]
    done = events[-1][1]
    assert set(done) == ANSWER_KEYS
    assert done["answer"] == "210 bar." == "".join(d["text"] for n, d in events if n == "delta")


@pytest.mark.parametrize(
    ("path", "throttled"),
    [("/rag", "runtime"), ("/finetuned", "endpoint"), ("/hybrid", "kb")],
)
async def test_throttling_is_a_503_json_error(
    aws_client: httpx.AsyncClient, aws: Aws, path: str, throttled: str
) -> None:
    operations = {"runtime": "converse", "endpoint": "invoke_endpoint", "kb": "retrieve"}
    stubber: Stubber = getattr(aws, throttled)
    for _ in range(2):
        stubber.add_client_error(operations[throttled], "ThrottlingException", "Rate exceeded", 429)
    stubber.activate()
    aws.answers(retrievals=1 if path == "/rag" else 0)

    response = await aws_client.post(path, json=QUESTION)

    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "backend_throttled"
    assert "ThrottlingException" in error["message"]
    assert error["request_id"] == response.headers["x-request-id"]
    assert "retry-after" in response.headers


@pytest.mark.parametrize("stream", [False, True])
async def test_a_silent_endpoint_is_a_504_json_error_at_the_deadline(
    aws_client: httpx.AsyncClient, aws: Aws, stream: bool
) -> None:
    operation = "InvokeEndpointWithResponseStream" if stream else "InvokeEndpoint"
    release = hang_then_time_out(aws.sagemaker.client, operation, hang_s=10)
    started = time.perf_counter()

    response = await aws_client.post("/finetuned", json={**QUESTION, "stream": stream})

    elapsed = time.perf_counter() - started
    release.set()
    assert response.status_code == 504
    assert response.json()["error"]["code"] == "backend_timeout"
    assert elapsed < 10  # the deadline ended it, not the 10 s hang


async def test_compare_keeps_the_answers_that_worked(
    aws_client: httpx.AsyncClient, aws: Aws
) -> None:
    for _ in range(4):
        aws.endpoint.add_client_error(
            "invoke_endpoint", "ThrottlingException", "Rate exceeded", 429
        )
    aws.endpoint.activate()
    aws.answers(retrievals=2, converses=1)

    response = await aws_client.post("/compare", json=QUESTION)

    assert response.status_code == 200
    body = response.json()
    assert set(body["results"]) == {"rag"}
    assert {name: e["code"] for name, e in body["errors"].items()} == {
        "finetuned": "backend_throttled",
        "hybrid": "backend_throttled",
    }


async def test_a_stream_refused_before_any_text_is_a_503_json_error(
    aws_client: httpx.AsyncClient, aws: Aws
) -> None:
    for _ in range(2):
        aws.endpoint.add_client_error(
            "invoke_endpoint_with_response_stream", "ThrottlingException", "Rate exceeded", 429
        )
    aws.endpoint.activate()

    response = await aws_client.post("/finetuned", json={**QUESTION, "stream": True})

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "backend_throttled"


async def test_a_stream_refused_after_the_sources_ends_with_an_error_event(
    aws_client: httpx.AsyncClient, aws: Aws
) -> None:
    for _ in range(2):
        aws.runtime.add_client_error("converse_stream", "ThrottlingException", "Rate exceeded", 429)
    aws.runtime.activate()
    aws.answers(retrievals=1)

    response = await aws_client.post("/rag", json={**QUESTION, "stream": True})

    assert response.status_code == 200  # the sources were already sent
    events = sse_events(response.text)
    assert [name for name, _ in events] == ["sources", "error"]
    assert events[-1][1]["error"]["code"] == "backend_throttled"


@pytest.mark.parametrize(
    ("path", "body", "named"),
    [
        # Converse takes temperature 0 to 1; the API's 2.0 used to reach it and come back 502.
        ("/rag", {"temperature": 1.5}, "the bedrock generator"),
        ("/rag", {"max_tokens": 2048, "temperature": 1.01}, "temperature must be 0 to 1"),
        # The endpoint's context window (8192 by default) bounds the answer.
        ("/finetuned", {"max_tokens": 2048, "temperature": 2.0}, None),
    ],
)
async def test_a_parameter_the_backend_refuses_is_a_422_before_any_aws_call(
    aws_client: httpx.AsyncClient,
    aws: Aws,
    path: str,
    body: dict[str, Any],
    named: str | None,
) -> None:
    aws.answers(invokes=1)  # the active stubbers refuse any call they were not told of
    aws.kb.activate()
    aws.runtime.activate()

    response = await aws_client.post(path, json={**QUESTION, **body})

    if named is None:  # within TGI's range: answered
        assert response.status_code == 200, response.text
        return
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "parameter_out_of_range"
    assert named in error["message"]
    aws.kb.assert_no_pending_responses()


async def test_streaming_refuses_an_out_of_range_parameter_before_the_first_event(
    aws_client: httpx.AsyncClient, aws: Aws
) -> None:
    aws.kb.activate()
    aws.runtime.activate()

    refused = await aws_client.post("/rag", json={**QUESTION, "stream": True, "temperature": 1.2})

    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/json")
    assert "bedrock" in refused.json()["error"]["message"]


def test_the_openapi_schema_documents_each_backends_limits(aws_settings: Settings) -> None:
    schema = create_app(aws_settings, backends=None).openapi()
    fields = schema["components"]["schemas"]["AnswerRequest"]["properties"]

    assert "bedrock: 0 to 1" in fields["temperature"]["description"]
    assert "FMT_BEDROCK__MAX_OUTPUT_TOKENS" in fields["max_tokens"]["description"]


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        # The bare id Bedrock refuses for on-demand use in us-east-1 (issue 12).
        (
            {"bedrock": {"model_id": BASE_MODEL.removeprefix("us."), "knowledge_base_id": KB_ID}},
            "FMT_BEDROCK__MODEL_ID=us.meta.llama3-1-8b-instruct-v1:0",
        ),
        ({"bedrock": {}}, "FMT_BEDROCK__KNOWLEDGE_BASE_ID"),
        ({"sagemaker": {}}, "FMT_SAGEMAKER__ENDPOINT_NAME"),
        ({"generation": {"temperature": 1.5, "timeout_s": DEADLINE_S}}, "TEMPERATURE"),
    ],
)
async def test_a_setting_aws_cannot_serve_is_named_by_ready(
    aws_settings: Settings, changes: dict[str, Any], named: str
) -> None:
    settings = Settings(_env_file=None, **{**AWS_SETTINGS, **changes})
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://t") as client,
    ):
        for _ in range(200):
            ready = await client.get("/ready")
            if ready.json()["detail"] != "loading":
                break
            await asyncio.sleep(0.02)

    assert ready.status_code == 503
    assert named in ready.json()["detail"]
    assert "Traceback" not in ready.text


async def test_an_lmi_stream_failing_midway_ends_with_an_error_event_not_done(
    aws_client: httpx.AsyncClient, aws: Aws
) -> None:
    # issue 12: the partial text used to come back as a success.
    lines = [
        {"token": {"id": 1, "text": "210", "log_prob": -0.1}},
        {
            "token": {"id": -1, "text": "", "log_prob": -1, "special_token": True},
            "generated_text": "",
            "details": {"finish_reason": "error", "generated_tokens": None, "inputs": None},
        },
    ]
    data = "".join(json.dumps(line) + "\n" for line in lines).encode()
    serve_event_stream(
        aws.sagemaker.client, "InvokeEndpointWithResponseStream", payload_parts(data, [])
    )

    response = await aws_client.post("/finetuned", json={**QUESTION, "stream": True})

    names = [name for name, _ in sse_events(response.text)]
    assert names == ["delta", "error"]
    assert sse_events(response.text)[-1][1]["error"]["code"] == "backend_error"


ACCOUNT_ID = "123456789012"
DENIED = (
    f"User: arn:aws:sts::{ACCOUNT_ID}:assumed-role/fm-tailor-task/abc is not authorized to "
    f"perform: bedrock:InvokeModel on resource: arn:aws:bedrock:us-east-1:{ACCOUNT_ID}:model/x"
)


def logged_lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [
        json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")
    ]


@pytest.mark.parametrize("stream", [False, True])
async def test_access_denied_keeps_the_arn_in_the_log_not_in_the_answer(
    aws_client: httpx.AsyncClient, aws: Aws, capsys: pytest.CaptureFixture[str], stream: bool
) -> None:
    operation = "converse_stream" if stream else "converse"
    aws.runtime.add_client_error(operation, "AccessDeniedException", DENIED, 403)
    aws.runtime.activate()
    aws.answers(retrievals=1)
    capsys.readouterr()

    response = await aws_client.post("/rag", json={**QUESTION, "stream": stream})

    request_id = response.headers["x-request-id"]
    error = sse_events(response.text)[-1][1]["error"] if stream else response.json()["error"]
    assert error["code"] == "backend_error"
    assert error["request_id"] == request_id
    assert ACCOUNT_ID not in response.text
    assert "arn:" not in response.text
    assert "make doctor" in error["message"]  # the actionable hint stays
    logged = [line for line in logged_lines(capsys) if ACCOUNT_ID in line["message"]]
    assert logged, "the backend's own message is in the log"
    assert {line["request_id"] for line in logged} == {request_id}
