"""What a retriever returns and the protocol every retriever backend follows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from app.core.embeddings import SentenceEncoder
from app.core.types import Passage


class Retriever(Protocol):
    """Finds the catalog passages most relevant to a query.

    `encoder` is the embedding model the retriever holds in-process (the local one), shared with
    context selection so it loads once; None when the search runs elsewhere (Bedrock KB).
    `products` are the catalog's product names when the retriever holds them (the local index),
    else empty. `retrieve`'s `products`: those a query is about (a conversation's follow-up); a
    retriever that can favour their passages does, the others search the query's words alone.
    """

    name: str

    @property
    def encoder(self) -> SentenceEncoder | None: ...

    @property
    def products(self) -> tuple[str, ...]: ...

    async def retrieve(
        self, query: str, top_k: int, products: Sequence[str] = ()
    ) -> list[Passage]: ...

    async def aclose(self) -> None: ...
