"""What every format reader returns or raises."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from app.catalog.model import Block

Reader = Callable[[Path], list[Block]]


class UnreadableFile(ValueError):
    """A catalog file that holds no usable text; the message is the reason shown to the user."""


def text_lines(text: str, page: int | None = None) -> list[Block]:
    """Plain text as `line` blocks, for the structure pass to find headings in."""
    return [Block("line", line.rstrip(), page) for line in text.splitlines()]
