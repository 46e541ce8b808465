"""The catalog as Knowledge Base documents: one per product section, each with a metadata file."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from app.catalog import Section, read_sections

TEXT = "text/plain; charset=utf-8"
JSON = "application/json"
# Bedrock reads `<document>.metadata.json` beside a document as its filterable attributes.
METADATA_SUFFIX = ".metadata.json"


@dataclass(frozen=True, slots=True)
class CatalogObject:
    key: str
    body: bytes
    content_type: str


def slug(text: str) -> str:
    """A key-safe name: lowercase words joined by hyphens."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _document_text(section: Section) -> str:
    # The heading travels with the text, so every chunk Bedrock cuts still names its product.
    heading = f"{section.product} - {section.title}" if section.title else section.product
    return f"{heading}\n\n{section.text}\n"


def _metadata(section: Section) -> bytes:
    attributes = {"product": section.product, "source": section.source}
    if section.title:
        attributes["section"] = section.title
    return json.dumps({"metadataAttributes": attributes}, ensure_ascii=False).encode()


def catalog_objects(catalog: Path, prefix: str) -> list[CatalogObject]:
    """One text document and one metadata file per catalog section, under the prefix."""
    objects: list[CatalogObject] = []
    used: set[str] = set()
    for section in read_sections(catalog):
        stem = f"{prefix}{slug(section.product) or 'catalog'}/{slug(section.title) or 'overview'}"
        key, ordinal = f"{stem}.txt", 1
        while key in used:
            ordinal += 1
            key = f"{stem}-{ordinal}.txt"
        used.add(key)
        objects.append(CatalogObject(key, _document_text(section).encode(), TEXT))
        objects.append(CatalogObject(key + METADATA_SUFFIX, _metadata(section), JSON))
    return objects
