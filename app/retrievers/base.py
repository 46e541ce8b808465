"""What a retriever returns and the protocol every retriever backend follows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Passage:
    """One retrieved piece of the catalog.

    `title` is the product name, `location` says where the text came from (a file and
    section, or an S3 URI) so a person can check the source.
    """

    id: str
    title: str
    text: str
    score: float
    location: str
    section: str = ""


class Retriever(Protocol):
    """Finds the catalog passages most relevant to a query."""

    name: str

    async def retrieve(self, query: str, top_k: int) -> list[Passage]: ...

    async def aclose(self) -> None: ...
