"""The catalog as Knowledge Base objects: each file with a `.metadata.json` sidecar naming its
product and sections.

A sidecar's attributes hold for the whole file, and Bedrock gives them to every chunk it cuts.
So a file about one product is uploaded as it is (the original PDF, Word, HTML, Markdown or text
file) with its sidecar; a file about several products (a catalog export, a CSV with a row per
product, JSON records) is uploaded as one Markdown document per product, read through the same
document model as the local index, so that every chunk is still attributed to its own product.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from app.catalog import Section, SourceDocument, read_catalog
from app.catalog.files import catalog_root
from app.settings import DocumentSettings

JSON = "application/json"
MARKDOWN = "text/markdown; charset=utf-8"
# Bedrock reads `<document>.metadata.json` beside a document as its filterable attributes.
METADATA_SUFFIX = ".metadata.json"
# The formats a Knowledge Base parses itself; others are uploaded as Markdown per product.
UPLOADED_AS_IS = {
    ".txt": "text/plain; charset=utf-8",
    ".md": MARKDOWN,
    ".markdown": MARKDOWN,
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
# A sidecar may hold at most 10 KB; section lists are cut well before that.
MAX_LISTED_SECTIONS = 50


@dataclass(frozen=True, slots=True)
class CatalogObject:
    key: str
    body: bytes
    content_type: str


def slug(text: str) -> str:
    """A key-safe name: lowercase words joined by hyphens."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _metadata(product: str, source: str, sections: list[Section]) -> bytes:
    titles = list(dict.fromkeys(section.title for section in sections if section.title))
    attributes: dict[str, str | list[str]] = {"product": product, "source": source}
    if titles:
        attributes["sections"] = titles[:MAX_LISTED_SECTIONS]
    return json.dumps({"metadataAttributes": attributes}, ensure_ascii=False).encode()


def _product_markdown(product: str, sections: list[Section]) -> bytes:
    parts = [f"# {product}\n"]
    for section in sections:
        parts.append(f"## {section.title}\n\n{section.text}\n" if section.title else section.text)
    return "\n".join(parts).encode()


def _document_objects(
    document: SourceDocument, sections: list[Section], root: Path, prefix: str
) -> list[CatalogObject]:
    by_product: dict[str, list[Section]] = defaultdict(list)
    for section in sections:
        by_product[section.product].append(section)
    objects: list[CatalogObject] = []
    content_type = UPLOADED_AS_IS.get(document.format)
    if len(by_product) == 1 and content_type is not None:
        ((product, product_sections),) = by_product.items()
        key = f"{prefix}{document.source}"
        objects.append(CatalogObject(key, (root / document.source).read_bytes(), content_type))
        metadata = _metadata(product, document.source, product_sections)
        objects.append(CatalogObject(key + METADATA_SUFFIX, metadata, JSON))
        return objects
    folder = PurePosixPath(document.source).with_suffix("")
    used: set[str] = set()
    for product, product_sections in by_product.items():
        stem = f"{prefix}{folder}/{slug(product) or 'product'}"
        key, ordinal = f"{stem}.md", 1
        while key in used:
            ordinal += 1
            key = f"{stem}-{ordinal}.md"
        used.add(key)
        objects.append(CatalogObject(key, _product_markdown(product, product_sections), MARKDOWN))
        metadata = _metadata(product, document.source, product_sections)
        objects.append(CatalogObject(key + METADATA_SUFFIX, metadata, JSON))
    return objects


def catalog_objects(
    catalog: Path, prefix: str, settings: DocumentSettings | None = None
) -> list[CatalogObject]:
    """Every readable catalog file's objects under the prefix: documents and their sidecars.
    Unreadable files are skipped with a logged warning, as the local index does."""
    read = read_catalog(catalog, settings)
    root = catalog_root(catalog)
    by_source: dict[str, list[Section]] = defaultdict(list)
    for section in read.sections:
        by_source[section.source].append(section)
    return [
        item
        for document in read.documents
        for item in _document_objects(document, by_source[document.source], root, prefix)
    ]
