"""An Amazon Bedrock Knowledge Base as a retriever, through the Retrieve API."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from app.core.aws_clients import bedrock_agent_runtime_client
from app.core.embeddings import SentenceEncoder
from app.core.errors import BackendError
from app.core.types import Passage
from app.resilience.blocking import BlockingPool, shared_pool
from app.resilience.retry import RetryPolicy, call_with_retries
from app.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_bedrock_agent_runtime import AgentsforBedrockRuntimeClient

# numberOfResults and numberOfRerankedResults: 1 to 100 (the bedrock-agent-runtime model).
MAX_RESULTS = 100
SOURCE_URI_KEY = "x-amz-bedrock-kb-source-uri"
CHUNK_ID_KEY = "x-amz-bedrock-kb-chunk-id"
# Where each data source type keeps the address of the document.
_LOCATION_FIELDS = (
    ("s3Location", "uri"),
    ("webLocation", "url"),
    ("confluenceLocation", "url"),
    ("salesforceLocation", "url"),
    ("sharePointLocation", "url"),
    ("kendraDocumentLocation", "uri"),
    ("customDocumentLocation", "id"),
)


def _location(result: Mapping[str, Any]) -> str:
    location = result.get("location") or {}
    for kind, address in _LOCATION_FIELDS:
        value = (location.get(kind) or {}).get(address)
        if isinstance(value, str):
            return value
    source = (result.get("metadata") or {}).get(SOURCE_URI_KEY)
    return source if isinstance(source, str) else ""


def section_of(metadata: Mapping[str, Any], text: str) -> str:
    """The section a chunk comes from, by the `sections` its sidecar lists (infra.kb_sync).

    A document's sidecar names all its sections; a chunk spanning one of them is attributed to
    the one whose heading (or title) it holds, a one-section document to its only section.
    """
    listed = metadata.get("sections")
    titles = [listed] if isinstance(listed, str) else listed if isinstance(listed, list) else []
    titles = [title for title in titles if isinstance(title, str) and title]
    if len(titles) == 1:
        return titles[0]
    for marker in ("## {}", "{}"):
        for title in titles:
            if marker.format(title) in text:
                return str(title)
    return ""


def passage_from_result(result: Mapping[str, Any], rank: int, title_key: str) -> Passage:
    """One retrieval result as a Passage: title from metadata, else the document's file name."""
    try:
        text = result["content"]["text"]
    except (KeyError, TypeError) as error:
        raise BackendError("bedrock-kb: a retrieval result has no text content") from error
    metadata = result.get("metadata") or {}
    location = _location(result)
    title = metadata.get(title_key)
    if not isinstance(title, str) or not title:
        title = PurePosixPath(location).name or "document"
    chunk_id = metadata.get(CHUNK_ID_KEY)
    return Passage(
        id=chunk_id if isinstance(chunk_id, str) else f"{location}#{rank}",
        title=title,
        text=str(text),
        score=float(result.get("score") or 0.0),
        location=location,
        section=section_of(metadata, str(text)),
    )


class BedrockKnowledgeBaseRetriever:
    """Vector (or hybrid) search in one Knowledge Base."""

    name = "bedrock-kb"
    # The search runs in the Knowledge Base: no embedding model here.
    encoder: SentenceEncoder | None = None

    def __init__(
        self,
        client: AgentsforBedrockRuntimeClient,
        knowledge_base_id: str,
        pool: BlockingPool,
        policy: RetryPolicy,
        *,
        search_type: str | None = None,
        metadata_filter: Mapping[str, object] | None = None,
        title_key: str = "product",
        rerank_model_arn: str | None = None,
        rerank_candidates: int = 20,
    ) -> None:
        self.knowledge_base_id = knowledge_base_id
        self.client = client
        self._pool = pool
        self._policy = policy
        self._search_type = search_type
        self._metadata_filter = metadata_filter
        self._title_key = title_key
        self._rerank_model_arn = rerank_model_arn
        self._rerank_candidates = rerank_candidates

    def _arguments(self, query: str, top_k: int, next_token: str | None) -> dict[str, Any]:
        top_k = min(top_k, MAX_RESULTS)
        search: dict[str, Any] = {"numberOfResults": top_k}
        if self._search_type:
            search["overrideSearchType"] = self._search_type
        if self._metadata_filter:
            search["filter"] = dict(self._metadata_filter)
        if self._rerank_model_arn:
            # The reranker picks top_k out of more candidates than the answer needs.
            search["numberOfResults"] = min(max(top_k, self._rerank_candidates), MAX_RESULTS)
            search["rerankingConfiguration"] = {
                "type": "BEDROCK_RERANKING_MODEL",
                "bedrockRerankingConfiguration": {
                    "modelConfiguration": {"modelArn": self._rerank_model_arn},
                    "numberOfRerankedResults": top_k,
                },
            }
        arguments: dict[str, Any] = {
            "knowledgeBaseId": self.knowledge_base_id,
            "retrievalQuery": {"text": query},
            "retrievalConfiguration": {"vectorSearchConfiguration": search},
        }
        if next_token:
            arguments["nextToken"] = next_token
        return arguments

    async def _page(self, arguments: dict[str, Any], deadline: float) -> Mapping[str, Any]:
        call = functools.partial(self.client.retrieve, **arguments)
        return await call_with_retries(
            lambda: self._pool.run(call), self._policy, self.name, deadline=deadline
        )

    async def retrieve(self, query: str, top_k: int) -> list[Passage]:
        """Up to `top_k` passages, following `nextToken` while the Knowledge Base has more."""
        deadline = asyncio.get_running_loop().time() + self._policy.deadline_s
        results: list[Mapping[str, Any]] = []
        next_token: str | None = None
        while len(results) < top_k:
            reply = await self._page(self._arguments(query, top_k, next_token), deadline)
            page = reply.get("retrievalResults")
            if not isinstance(page, list):
                raise BackendError("bedrock-kb: the Retrieve reply has no retrievalResults")
            results.extend(page)
            token = reply.get("nextToken")
            if not page or not isinstance(token, str) or not token or token == next_token:
                break
            next_token = token
        return [
            passage_from_result(result, rank, self._title_key)
            for rank, result in enumerate(results[:top_k])
        ]

    async def aclose(self) -> None:
        self.client.close()


def build_bedrock_kb_retriever(settings: Settings) -> BedrockKnowledgeBaseRetriever:
    bedrock = settings.bedrock
    if not bedrock.knowledge_base_id:
        raise ValueError(
            "FMT_RETRIEVER=bedrock-kb needs FMT_BEDROCK__KNOWLEDGE_BASE_ID (the KnowledgeBaseId "
            "output of the CDK stack; `python -m infra.doctor` checks it)"
        )
    return BedrockKnowledgeBaseRetriever(
        bedrock_agent_runtime_client(bedrock),
        bedrock.knowledge_base_id,
        shared_pool(settings.retry.blocking_threads),
        RetryPolicy.from_settings(settings.retry, bedrock.retrieve_timeout_s),
        search_type=bedrock.search_type,
        metadata_filter=bedrock.metadata_filter,
        title_key=bedrock.title_metadata_key,
        rerank_model_arn=bedrock.rerank_model_arn,
        rerank_candidates=bedrock.rerank_candidates,
    )
