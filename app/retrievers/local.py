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
import numpy.typing as npt

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
from app.retrievers.local_text import tokenize
from app.retrievers.products import model_code
from app.settings import Settings

logger = logging.getLogger(__name__)

# Lexical first, dense second; see docs/retrieval.md for what was measured.
DEFAULT_WEIGHTS = (1.0, 1.0)
QUERY_CACHE_SIZE = 1024


SearchKey = tuple[str, int, tuple[str, ...]]


def _chunks_by_product(index: LocalIndex) -> dict[str, npt.NDArray[np.int64]]:
    positions: dict[str, list[int]] = {}
    for position, chunk in enumerate(index.chunks):
        positions.setdefault(chunk.product, []).append(position)
    return {product: np.asarray(found, dtype=np.int64) for product, found in positions.items()}


def _is_code(token: str) -> bool:
    return any(c.isdigit() for c in token) and any(c.isalpha() for c in token)


def lexical_query(query: str, products: Sequence[str]) -> str:
    """The words BM25 scores for a query about `products`.

    A follow-up carries its product's model code ("And E09? BW-350"). When the question has a
    code of its own, the product's code is left out here: its parts ("bw", "350") also match the
    description's figures and outweigh the one word that finds the passage, E09. The products'
    own ranking still keeps the search on them.
    """
    without = query
    for code in filter(None, map(model_code, products)):
        without = without.replace(code, " ")
    if without != query and any(_is_code(token) for token in tokenize(without)):
        return without
    return query


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
        self._in_flight: dict[SearchKey, asyncio.Future[list[Passage]]] = {}
        self._product_chunks = _chunks_by_product(index)

    @property
    def products(self) -> tuple[str, ...]:
        """The catalog's products, in catalog order (the conversation's product lexicon)."""
        return tuple(self._product_chunks)

    @property
    def encoder(self) -> Encoder:
        """The embedding model, shared with context selection (app.context) so it loads once."""
        return self._encoder

    def _encode_query(self, query: str) -> Vector:
        vector = np.asarray(self._encoder.encode([query])[0], dtype=np.float32)
        vector.setflags(write=False)
        return vector

    def _about_products(
        self, dense_scores: Scores, products: Sequence[str], candidates: int
    ) -> list[int]:
        """The chunks of `products`, closest to the query first: a third ranking to fuse, so a
        follow-up's passages come from the product the conversation is about."""
        known = [self._product_chunks[p] for p in products if p in self._product_chunks]
        if not known:
            return []
        chunks = np.concatenate(known)
        order = np.argsort(-dense_scores[chunks], kind="stable")[:candidates]
        return [int(chunk) for chunk in chunks[order]]

    def search(self, query: str, top_k: int, products: Sequence[str] = ()) -> list[Passage]:
        """The top_k passages for the query (blocking; `retrieve` is the async front); chunks of
        `products` ranked a third time, by closeness to the query, and fused with the others."""
        candidates = max(self._candidates, top_k)
        query_vector = self._query_vector(query)
        dense_scores = self.index.dense_scores(query_vector)
        lexical_scores = self.index.lexical_scores(lexical_query(query, products))
        lexical = _top_documents(lexical_scores, candidates, positive_only=True)
        rankings = [lexical, _top_documents(dense_scores, candidates, False)]
        weights = list(self._weights)
        if products:
            rankings.append(self._about_products(dense_scores, products, candidates))
            weights.append(self._weights[1])
        fused = reciprocal_rank_fusion(rankings, k=self._rrf_k, weights=weights)
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

    async def retrieve(self, query: str, top_k: int, products: Sequence[str] = ()) -> list[Passage]:
        key = (query, top_k, tuple(products))
        pending = self._in_flight.get(key)
        if pending is None:
            # /compare retrieves the same question for rag and hybrid at once: search it once.
            loop = asyncio.get_running_loop()
            search = functools.partial(self.search, query, top_k, key[2])
            pending = loop.run_in_executor(self._executor, search)
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
