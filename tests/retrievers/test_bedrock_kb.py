"""The Bedrock Knowledge Base retriever on a real boto3 client with stubbed Retrieve replies."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from botocore.stub import Stubber

from app.core.errors import BackendError, BackendThrottled
from app.retrievers.bedrock_kb import BedrockKnowledgeBaseRetriever, build_bedrock_kb_retriever
from app.settings import BedrockSettings, Settings
from tests.contract.aws_stubs import FAST_POLICY, real_client, small_pool, use_fake_aws_credentials

KB_ID = "KBCATALOG1"
FILTER = {"equals": {"key": "category", "value": "presses"}}


def result(text: str, uri: str, score: float, metadata: dict[str, object]) -> dict[str, object]:
    return {
        "content": {"text": text, "type": "TEXT"},
        "location": {"type": "S3", "s3Location": {"uri": uri}},
        "score": score,
        "metadata": {"x-amz-bedrock-kb-source-uri": uri, **metadata},
    }


RETRIEVE_REPLY = {
    "retrievalResults": [
        result(
            "The KX-420 runs at 210 bar.",
            "s3://catalog-bucket/kb/kestrel-kx-420.txt",
            0.82,
            {"product": "Kestrel KX-420 Hydraulic Press", "x-amz-bedrock-kb-chunk-id": "chunk-7"},
        ),
        result("Wire feed 7.5 m/min.", "s3://catalog-bucket/kb/orion-w-90.txt", 0.41, {}),
    ]
}


@pytest.fixture
def retriever(monkeypatch: pytest.MonkeyPatch) -> Iterator[BedrockKnowledgeBaseRetriever]:
    use_fake_aws_credentials(monkeypatch)
    pool = small_pool()
    client = real_client("bedrock-agent-runtime", BedrockSettings())
    yield BedrockKnowledgeBaseRetriever(
        client, KB_ID, pool, FAST_POLICY, search_type="HYBRID", metadata_filter=FILTER
    )
    pool.shutdown()


async def test_retrieve_asks_for_top_k_with_search_type_and_filter(
    retriever: BedrockKnowledgeBaseRetriever,
) -> None:
    expected = {
        "knowledgeBaseId": KB_ID,
        "retrievalQuery": {"text": "KX-420 pressure"},
        "retrievalConfiguration": {
            "vectorSearchConfiguration": {
                "numberOfResults": 3,
                "overrideSearchType": "HYBRID",
                "filter": FILTER,
            }
        },
    }
    with Stubber(retriever.client) as stubber:
        stubber.add_response("retrieve", RETRIEVE_REPLY, expected)
        passages = await retriever.retrieve("KX-420 pressure", 3)
        stubber.assert_no_pending_responses()

    assert [p.text for p in passages] == ["The KX-420 runs at 210 bar.", "Wire feed 7.5 m/min."]
    first, second = passages
    assert first.title == "Kestrel KX-420 Hydraulic Press"
    assert first.location == "s3://catalog-bucket/kb/kestrel-kx-420.txt"
    assert first.score == pytest.approx(0.82)
    assert first.id == "chunk-7"
    assert second.title == "orion-w-90.txt"  # no product metadata: the file name
    assert second.id != first.id


async def test_throttling_is_retried_then_backend_throttled(
    retriever: BedrockKnowledgeBaseRetriever,
) -> None:
    with Stubber(retriever.client) as stubber:
        for _ in range(FAST_POLICY.max_attempts):
            stubber.add_client_error("retrieve", "ThrottlingException", "Rate exceeded", 429)
        with pytest.raises(BackendThrottled):
            await retriever.retrieve("KX-420 pressure", 3)
        stubber.assert_no_pending_responses()


async def test_an_unknown_knowledge_base_is_a_clear_backend_error(
    retriever: BedrockKnowledgeBaseRetriever,
) -> None:
    with Stubber(retriever.client) as stubber:
        stubber.add_client_error(
            "retrieve", "ResourceNotFoundException", "KB KBCATALOG1 not found", 404
        )
        with pytest.raises(BackendError, match="knowledge base id") as raised:
            await retriever.retrieve("KX-420 pressure", 3)

    assert raised.value.status_code == 502


def test_building_needs_the_knowledge_base_id(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fake_aws_credentials(monkeypatch)

    with pytest.raises(ValueError, match="FMT_BEDROCK__KNOWLEDGE_BASE_ID"):
        build_bedrock_kb_retriever(Settings(_env_file=None))


async def test_settings_reach_the_retriever(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fake_aws_credentials(monkeypatch)
    monkeypatch.setenv("FMT_BEDROCK__KNOWLEDGE_BASE_ID", KB_ID)
    monkeypatch.setenv("FMT_BEDROCK__SEARCH_TYPE", "SEMANTIC")
    monkeypatch.setenv("FMT_BEDROCK__METADATA_FILTER", '{"equals": {"key": "a", "value": "b"}}')
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    retriever = build_bedrock_kb_retriever(Settings(_env_file=None))
    expected = {
        "knowledgeBaseId": KB_ID,
        "retrievalQuery": {"text": "q"},
        "retrievalConfiguration": {
            "vectorSearchConfiguration": {
                "numberOfResults": 2,
                "overrideSearchType": "SEMANTIC",
                "filter": {"equals": {"key": "a", "value": "b"}},
            }
        },
    }

    with Stubber(retriever.client) as stubber:
        stubber.add_response("retrieve", RETRIEVE_REPLY, expected)
        await retriever.retrieve("q", 2)
        stubber.assert_no_pending_responses()

    assert retriever.client.meta.endpoint_url == "http://127.0.0.1:4566"
    await retriever.aclose()


def search_request(number_of_results: int, **more: object) -> dict[str, object]:
    return {
        "knowledgeBaseId": KB_ID,
        "retrievalQuery": {"text": "KX-420 pressure"},
        "retrievalConfiguration": {
            "vectorSearchConfiguration": {
                "numberOfResults": number_of_results,
                "overrideSearchType": "HYBRID",
                "filter": FILTER,
                **more,
            }
        },
    }


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("DependencyFailedException", 424),  # AWS: "check ... and retry the request" (issue 12)
        ("BadGatewayException", 502),
        ("InternalServerException", 500),
        ("ServiceQuotaExceededException", 400),
    ],
)
async def test_every_error_aws_calls_retryable_is_retried(
    retriever: BedrockKnowledgeBaseRetriever, code: str, status: int
) -> None:
    with Stubber(retriever.client) as stubber:
        stubber.add_client_error("retrieve", code, "try again", status)
        stubber.add_response("retrieve", RETRIEVE_REPLY)
        passages = await retriever.retrieve("KX-420 pressure", 2)
        stubber.assert_no_pending_responses()

    assert len(passages) == 2


async def test_next_token_is_followed_until_top_k(
    retriever: BedrockKnowledgeBaseRetriever,
) -> None:
    first_page = {"retrievalResults": RETRIEVE_REPLY["retrievalResults"][:1], "nextToken": "p2"}
    second_page = {"retrievalResults": RETRIEVE_REPLY["retrievalResults"][1:], "nextToken": "p3"}
    with Stubber(retriever.client) as stubber:
        stubber.add_response("retrieve", first_page, search_request(2))
        stubber.add_response("retrieve", second_page, {**search_request(2), "nextToken": "p2"})
        passages = await retriever.retrieve("KX-420 pressure", 2)
        stubber.assert_no_pending_responses()  # and no third call: top_k was reached

    assert [p.text for p in passages] == ["The KX-420 runs at 210 bar.", "Wire feed 7.5 m/min."]


async def test_reranking_sends_the_model_arn_and_keeps_top_k(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_fake_aws_credentials(monkeypatch)
    pool = small_pool()
    arn = "arn:aws:bedrock:us-west-2::foundation-model/amazon.rerank-v1:0"
    retriever = BedrockKnowledgeBaseRetriever(
        real_client("bedrock-agent-runtime", BedrockSettings()),
        KB_ID,
        pool,
        FAST_POLICY,
        search_type="HYBRID",
        metadata_filter=FILTER,
        rerank_model_arn=arn,
        rerank_candidates=20,
    )
    reranking = {
        "type": "BEDROCK_RERANKING_MODEL",
        "bedrockRerankingConfiguration": {
            "modelConfiguration": {"modelArn": arn},
            "numberOfRerankedResults": 2,
        },
    }
    # Stubber checks the request against botocore's bedrock-agent-runtime model.
    with Stubber(retriever.client) as stubber:
        stubber.add_response(
            "retrieve", RETRIEVE_REPLY, search_request(20, rerankingConfiguration=reranking)
        )
        passages = await retriever.retrieve("KX-420 pressure", 2)
        stubber.assert_no_pending_responses()
    pool.shutdown()

    assert len(passages) == 2
