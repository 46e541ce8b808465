"""What every format reader takes, returns or raises."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.catalog.model import Block
from app.settings import DocumentSettings

BYTES_PER_MB = 1024 * 1024
CHARACTERS_PER_MB = 1_000_000


class UnreadableFile(ValueError):
    """A catalog file that holds no usable text; the message is the reason shown to the user."""


@dataclass(frozen=True, slots=True)
class ReadLimits:
    """What reading one untrusted file may cost, checked before (or while) it is parsed."""

    max_unpacked_bytes: int = 100 * BYTES_PER_MB
    max_markup_bytes: int = 20 * BYTES_PER_MB
    max_text_characters: int = 20 * CHARACTERS_PER_MB
    max_json_depth: int = 32

    @classmethod
    def of(cls, settings: DocumentSettings) -> ReadLimits:
        return cls(
            max_unpacked_bytes=int(settings.max_unpacked_mb * BYTES_PER_MB),
            max_markup_bytes=int(settings.max_markup_mb * BYTES_PER_MB),
            max_text_characters=int(settings.max_text_mb * CHARACTERS_PER_MB),
            max_json_depth=settings.max_json_depth,
        )


Reader = Callable[[Path, ReadLimits], list[Block]]


def text_lines(text: str, page: int | None = None) -> list[Block]:
    """Plain text as `line` blocks, for the structure pass to find headings in."""
    return [Block("line", line.rstrip(), page) for line in text.splitlines()]


def check_text_size(characters: int, limits: ReadLimits) -> None:
    """UnreadableFile once a file's text passes the limit (a small file may inflate to a lot)."""
    if characters > limits.max_text_characters:
        raise UnreadableFile(
            f"more than {limits.max_text_characters / CHARACTERS_PER_MB:g} million characters "
            "of text (FMT_DOCUMENTS__MAX_TEXT_MB)"
        )
