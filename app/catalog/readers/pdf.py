"""PDF files with pypdf: the text layer page by page, and the document's title metadata."""

from __future__ import annotations

from pathlib import Path

from pypdf import PdfReader
from pypdf.errors import PyPdfError

from app.catalog.model import Block
from app.catalog.readers.base import UnreadableFile, text_lines


def _open(path: Path) -> PdfReader:
    try:
        reader = PdfReader(path)
        # An owner password alone (printing or copying restricted) still opens with "".
        locked = reader.is_encrypted and not reader.decrypt("")
    except (PyPdfError, ValueError, KeyError, TypeError) as error:
        raise UnreadableFile(f"not a readable PDF ({error})") from error
    if locked:
        raise UnreadableFile("encrypted PDF that needs a password")
    return reader


def read_pdf(path: Path) -> list[Block]:
    reader = _open(path)
    blocks: list[Block] = []
    try:
        title = (reader.metadata.title if reader.metadata else None) or ""
        if title.strip():
            blocks.append(Block("title", " ".join(title.split())))
        for number, page in enumerate(reader.pages, start=1):
            blocks.extend(text_lines(page.extract_text() or "", page=number))
    except (PyPdfError, ValueError, KeyError, TypeError) as error:
        raise UnreadableFile(f"not a readable PDF ({error})") from error
    if not any(block.text.strip() for block in blocks if block.kind == "line"):
        raise UnreadableFile("PDF without a text layer (scanned?): run OCR on it first")
    return blocks
