"""What a retriever returns and the protocol every retriever backend follows."""

from __future__ import annotations

from typing import Protocol

from app.core.types import Passage


class Retriever(Protocol):
    """Finds the catalog passages most relevant to a query."""

    name: str

    async def retrieve(self, query: str, top_k: int) -> list[Passage]: ...

    async def aclose(self) -> None: ...
