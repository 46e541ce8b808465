"""PDF files with pypdf: the text layer page by page, and the document's title metadata."""

from __future__ import annotations

from pathlib import Path

from pypdf import PdfReader
from pypdf.errors import PyPdfError

from app.catalog.model import Block
from app.catalog.readers.base import ReadLimits, UnreadableFile, check_text_size, text_lines


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


def read_pdf(path: Path, limits: ReadLimits) -> list[Block]:
    reader = _open(path)
    blocks: list[Block] = []
    characters = 0
    try:
        title = (reader.metadata.title if reader.metadata else None) or ""
        if isinstance(title, str) and title.strip():
            blocks.append(Block("property_title", " ".join(title.split())))
        for number, page in enumerate(reader.pages, start=1):
            text = page.extract_text() or ""
            characters += len(text)
            # Page by page: compressed content streams make a small PDF's text large.
            check_text_size(characters, limits)
            blocks.extend(text_lines(text, page=number))
    except (PyPdfError, ValueError, KeyError, TypeError) as error:
        raise UnreadableFile(f"not a readable PDF ({error})") from error
    if not any(block.text.strip() for block in blocks if block.kind == "line"):
        raise UnreadableFile("PDF without a text layer (scanned?): run OCR on it first")
    return blocks
