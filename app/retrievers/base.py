"""What a retriever returns and the protocol every retriever backend follows."""

from __future__ import annotations

from typing import Protocol

from app.core.embeddings import SentenceEncoder
from app.core.types import Passage


class Retriever(Protocol):
    """Finds the catalog passages most relevant to a query.

    `encoder` is the embedding model the retriever holds in-process (the local one), shared with
    context selection so it loads once; None when the search runs elsewhere (Bedrock KB).
    """

    name: str

    @property
    def encoder(self) -> SentenceEncoder | None: ...

    async def retrieve(self, query: str, top_k: int) -> list[Passage]: ...

    async def aclose(self) -> None: ...
