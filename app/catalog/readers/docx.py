"""Word files with python-docx: Title, Heading 1 products, Heading 2 sections, text, tables."""

from __future__ import annotations

import zipfile
from pathlib import Path

import docx
from docx.opc.exceptions import OpcError
from docx.text.paragraph import Paragraph

from app.catalog.model import Block, BlockKind
from app.catalog.readers.base import UnreadableFile

_STYLE_KINDS: dict[str, BlockKind] = {
    "title": "title",
    "heading 1": "product",
    "heading 2": "section",
}


def _paragraph_kind(style_name: str) -> BlockKind:
    return _STYLE_KINDS.get(style_name.strip().lower(), "text")


def read_docx(path: Path) -> list[Block]:
    try:
        document = docx.Document(str(path))
    except (OpcError, zipfile.BadZipFile, KeyError, ValueError) as error:
        raise UnreadableFile(f"not a readable Word file ({type(error).__name__})") from error
    blocks: list[Block] = []
    core_title = (document.core_properties.title or "").strip()
    if core_title:
        blocks.append(Block("title", core_title))
    # Paragraphs and tables in the order they appear in the body.
    for item in document.iter_inner_content():
        if isinstance(item, Paragraph):
            text = " ".join(item.text.split())
            if text:
                style = item.style.name if item.style is not None else ""
                blocks.append(Block(_paragraph_kind(style or ""), text))
            continue
        for row in item.rows:
            cells = [" ".join(cell.text.split()) for cell in row.cells]
            line = " | ".join(cell for cell in cells if cell)
            if line:
                blocks.append(Block("text", line))
    return blocks
