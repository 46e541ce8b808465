"""Plain-text and Markdown files: decoded as UTF-8 (or Latin-1), refused when they are binary."""

from __future__ import annotations

from pathlib import Path

from app.catalog.model import Block
from app.catalog.readers.base import ReadLimits, UnreadableFile, check_text_size, text_lines

# Share of control characters (other than whitespace) above which a file is not text.
MAX_CONTROL_SHARE = 0.02
_ALLOWED_CONTROLS = frozenset("\t\n\r\f\v")


def decode_text(data: bytes) -> str:
    """The bytes as text; raises UnreadableFile for binary content."""
    if b"\x00" in data:
        raise UnreadableFile("binary content (NUL bytes), not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Older exports are often Windows-1252/Latin-1; binary junk fails the check below.
        text = data.decode("latin-1")
    controls = sum(1 for char in text if char < " " and char not in _ALLOWED_CONTROLS)
    if text and controls / len(text) > MAX_CONTROL_SHARE:
        raise UnreadableFile("binary content (control characters), not text")
    return text


def read_text(path: Path, limits: ReadLimits) -> list[Block]:
    text = decode_text(path.read_bytes())
    check_text_size(len(text), limits)
    return text_lines(text)
