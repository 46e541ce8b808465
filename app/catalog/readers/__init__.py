"""One reader per file format, chosen by the file's suffix."""

from __future__ import annotations

from app.catalog.readers.base import Reader, ReadLimits, UnreadableFile
from app.catalog.readers.docx import read_docx
from app.catalog.readers.html import read_html
from app.catalog.readers.pdf import read_pdf
from app.catalog.readers.records import read_csv, read_json, read_jsonl
from app.catalog.readers.text import read_text

READERS: dict[str, Reader] = {
    ".txt": read_text,
    ".md": read_text,
    ".markdown": read_text,
    ".html": read_html,
    ".htm": read_html,
    ".pdf": read_pdf,
    ".docx": read_docx,
    ".csv": read_csv,
    ".json": read_json,
    ".jsonl": read_jsonl,
}

__all__ = ["READERS", "ReadLimits", "Reader", "UnreadableFile"]
