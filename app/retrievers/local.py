"""The embedded retriever: BM25 and MiniLM rankings of catalog chunks, fused by reciprocal rank."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from app.core.embeddings import limit_torch_threads, load_embedder
from app.core.types import Passage
from app.retrievers.fusion import reciprocal_rank_fusion
from app.retrievers.local_index import (
    Encoder,
    LocalIndex,
    Scores,
    Vector,
    load_or_build_index,
)
from app.settings import Settings

logger = logging.getLogger(__name__)

# Lexical first, dense second; see docs/retrieval.md for what was measured.
DEFAULT_WEIGHTS = (1.0, 1.0)
QUERY_CACHE_SIZE = 1024


def _top_documents(scores: Scores, count: int, positive_only: bool) -> list[int]:
    order = np.argsort(-scores, kind="stable")[:count]
    if positive_only:
        order = order[scores[order] > 0]
    return [int(document) for document in order]


class LocalRetriever:
    """Searches an in-memory index; the blocking work runs on a small dedicated thread pool."""

    name = "local"

    def __init__(
        self,
        index: LocalIndex,
        encoder: Encoder,
        *,
        rrf_k: int,
        candidates: int,
        weights: Sequence[float] = DEFAULT_WEIGHTS,
        workers: int = 2,
    ) -> None:
        self.index = index
        self._encoder = encoder
        self._rrf_k = rrf_k
        self._candidates = candidates
        self._weights = tuple(weights)
        # Bounded so a burst of requests queues here instead of oversubscribing two CPU cores.
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="retriever")
        # The eval runner and /compare ask the same question more than once; MiniLM is the cost.
        self._query_vector = functools.lru_cache(maxsize=QUERY_CACHE_SIZE)(self._encode_query)
        self._in_flight: dict[tuple[str, int], asyncio.Future[list[Passage]]] = {}

    @property
    def encoder(self) -> Encoder:
        """The embedding model, shared with context selection (app.context) so it loads once."""
        return self._encoder

    def _encode_query(self, query: str) -> Vector:
        vector = np.asarray(self._encoder.encode([query])[0], dtype=np.float32)
        vector.setflags(write=False)
        return vector

    def search(self, query: str, top_k: int) -> list[Passage]:
        """The top_k passages for the query (blocking; `retrieve` is the async front)."""
        candidates = max(self._candidates, top_k)
        query_vector = self._query_vector(query)
        lexical = _top_documents(self.index.lexical_scores(query), candidates, positive_only=True)
        dense = _top_documents(self.index.dense_scores(query_vector), candidates, False)
        fused = reciprocal_rank_fusion([lexical, dense], k=self._rrf_k, weights=self._weights)
        passages = []
        for hit in fused[:top_k]:
            chunk = self.index.chunks[hit.document]
            passages.append(
                Passage(
                    id=chunk.id,
                    title=chunk.product,
                    text=chunk.text,
                    score=hit.score,
                    location=chunk.location,
                    section=chunk.section,
                )
            )
        return passages

    async def retrieve(self, query: str, top_k: int) -> list[Passage]:
        key = (query, top_k)
        pending = self._in_flight.get(key)
        if pending is None:
            # /compare retrieves the same question for rag and hybrid at once: search it once.
            loop = asyncio.get_running_loop()
            pending = loop.run_in_executor(self._executor, self.search, query, top_k)
            self._in_flight[key] = pending
            pending.add_done_callback(lambda _done: self._in_flight.pop(key, None))
        # Shielded so one cancelled caller does not cancel the search others wait on.
        return list(await asyncio.shield(pending))

    def forget_queries(self) -> None:
        """Drop the cached query vectors (benchmarks time new questions with it)."""
        self._query_vector.cache_clear()

    async def aclose(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        self.forget_queries()


def prepare_index(settings: Settings) -> Path:
    """Build (or find) the persisted index for the configured catalog; returns its folder."""
    embedder = load_embedder(settings)
    _, folder = load_or_build_index(settings, embedder)
    return folder


def build_local_retriever(settings: Settings) -> LocalRetriever:
    """Load the embedding model and the index, building the index if it is missing (blocking)."""
    started = time.perf_counter()
    embedder = load_embedder(settings)
    index, folder = load_or_build_index(settings, embedder)
    limit_torch_threads()
    logger.info(
        "local retriever ready",
        extra={
            "index_dir": str(folder),
            "chunks": len(index.chunks),
            "seconds": round(time.perf_counter() - started, 3),
        },
    )
    return LocalRetriever(
        index,
        embedder,
        rrf_k=settings.retrieval.rrf_k,
        candidates=settings.retrieval.candidates,
    )
