"""The values that cross layers: chat messages, token usage, retrieved passages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: Role
    content: str


@dataclass(frozen=True, slots=True)
class TokenUsage:
    """Tokens in and out; `estimated` is true when the backend did not report them."""

    input_tokens: int
    output_tokens: int
    estimated: bool = False


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
