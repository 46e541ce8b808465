"""The product catalog as one document model that every consumer reads.

file (txt, md, html, pdf, docx, csv, json, jsonl) -> blocks -> sections of products -> chunks;
`python -m app.catalog inspect PATH` shows how a catalog was understood.
"""

from __future__ import annotations

from app.catalog.chunking import (
    ChunkSizes,
    chunk_catalog,
    chunk_section,
    chunk_sections,
    split_text,
)
from app.catalog.files import CATALOG_SUFFIXES, CatalogError, catalog_files, catalog_hash
from app.catalog.model import Block, Catalog, Chunk, Section, SkippedFile, SourceDocument
from app.catalog.reading import read_catalog, read_sections

__all__ = [
    "CATALOG_SUFFIXES",
    "Block",
    "Catalog",
    "CatalogError",
    "Chunk",
    "ChunkSizes",
    "Section",
    "SkippedFile",
    "SourceDocument",
    "catalog_files",
    "catalog_hash",
    "chunk_catalog",
    "chunk_section",
    "chunk_sections",
    "read_catalog",
    "read_sections",
    "split_text",
]
