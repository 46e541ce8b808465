"""Word files with python-docx: Title, Heading 1 and Heading 2 paragraphs, text and tables."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import docx
from docx.opc.exceptions import OpcError
from docx.text.paragraph import Paragraph
from lxml import etree

from app.catalog.model import Block, BlockKind
from app.catalog.readers.archive import check_zip
from app.catalog.readers.base import ReadLimits, UnreadableFile, check_text_size

_STYLE_KINDS: dict[str, BlockKind] = {
    "title": "title",
    "heading 1": "heading",
    "heading 2": "section",
}
# Titles that Word and its templates fill in by themselves: they name no product.
_DEFAULT_TITLE = re.compile(
    r"^(?:(?:microsoft\s+)?word\s+document|document\d*|untitled|title|microsoft word\s+-.*"
    r"|.*\.docx?)$",
    re.IGNORECASE,
)


def _paragraph_kind(style_name: str) -> BlockKind:
    return _STYLE_KINDS.get(style_name.strip().lower(), "text")


def is_default_title(title: str) -> bool:
    """True for a title Word or a template wrote ("Word Document", "Document1", a file name)."""
    return bool(_DEFAULT_TITLE.match(title.strip()))


def read_docx(path: Path, limits: ReadLimits) -> list[Block]:
    check_zip(path, limits)
    try:
        document = docx.Document(str(path))
    except (OpcError, zipfile.BadZipFile, KeyError, ValueError) as error:
        raise UnreadableFile(f"not a readable Word file ({type(error).__name__})") from error
    except etree.XMLSyntaxError as error:
        raise UnreadableFile(f"not a readable Word file (broken XML: {error})") from error
    blocks: list[Block] = []
    core_title = " ".join((document.core_properties.title or "").split())
    if core_title and not is_default_title(core_title):
        blocks.append(Block("property_title", core_title))
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
    check_text_size(sum(len(block.text) for block in blocks), limits)
    return blocks
