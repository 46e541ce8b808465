"""What a retriever returns and the protocol every retriever backend follows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from app.core.types import Passage


class Retriever(Protocol):
    """Finds the catalog passages most relevant to a query.

    `products`: the catalog products the query is about (a conversation's follow-up); a retriever
    that can favour their passages does, the others search the query's words alone.
    """

    name: str

    async def retrieve(
        self, query: str, top_k: int, products: Sequence[str] = ()
    ) -> list[Passage]: ...

    async def aclose(self) -> None: ...


@runtime_checkable
class KnowsProducts(Protocol):
    """A retriever that holds the catalog's product names (the local index) declares them."""

    @property
    def products(self) -> tuple[str, ...]: ...
