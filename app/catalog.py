"""Reading a product catalog from disk: files, products, sections, chunks and a content hash."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

CATALOG_SUFFIXES = (".txt", ".md")

# A catalog export marks products and sections like this; markdown `#`/`##` headings work too.
_PRODUCT_HEADING = re.compile(r"^\s*(?:===\s*PRODUCT:\s*(?P<a>.+?)\s*===|#\s+(?P<b>[^#].*?))\s*$")
_SECTION_HEADING = re.compile(r"^\s*(?:---\s*(?P<a>.+?)\s*---|##\s+(?P<b>[^#].*?))\s*$")


class CatalogError(ValueError):
    """The configured catalog is missing or holds no text."""


@dataclass(frozen=True, slots=True)
class Section:
    product: str
    title: str
    text: str
    source: str


@dataclass(frozen=True, slots=True)
class Chunk:
    id: str
    product: str
    section: str
    text: str
    location: str


def catalog_files(catalog: Path) -> list[Path]:
    """The catalog's text files in a stable order: the file, or the folder's .txt/.md files."""
    if catalog.is_file():
        return [catalog]
    if catalog.is_dir():
        files = sorted(
            path
            for path in catalog.rglob("*")
            if path.is_file()
            and path.suffix.lower() in CATALOG_SUFFIXES
            and path.name.lower() != "readme.md"
        )
        if files:
            return files
        raise CatalogError(f"FMT_CATALOG folder {catalog} has no .txt or .md files")
    raise CatalogError(f"FMT_CATALOG path {catalog} does not exist")


def catalog_hash(catalog: Path) -> str:
    """SHA-256 over the catalog's file names and contents: changes whenever the catalog does."""
    digest = hashlib.sha256()
    root = catalog if catalog.is_dir() else catalog.parent
    for path in catalog_files(catalog):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def _heading(pattern: re.Pattern[str], line: str) -> str | None:
    match = pattern.match(line)
    if match is None:
        return None
    return (match.group("a") or match.group("b")).strip()


def parse_sections(text: str, source: str, default_product: str) -> Iterator[Section]:
    """Split one catalog file into sections, each knowing its product."""
    product, section = default_product, ""
    lines: list[str] = []

    def flush() -> Iterator[Section]:
        body = "\n".join(lines).strip()
        if body:
            yield Section(product=product, title=section, text=body, source=source)

    for line in text.splitlines():
        new_product = _heading(_PRODUCT_HEADING, line)
        new_section = None if new_product else _heading(_SECTION_HEADING, line)
        if new_product is not None:
            yield from flush()
            product, section, lines = new_product, "", []
        elif new_section is not None:
            yield from flush()
            section, lines = new_section, []
        else:
            lines.append(line)
    yield from flush()


def read_sections(catalog: Path) -> list[Section]:
    """Every section of every file of the catalog."""
    root = catalog if catalog.is_dir() else catalog.parent
    sections: list[Section] = []
    for path in catalog_files(catalog):
        source = str(path.relative_to(root))
        default_product = path.stem.replace("_", " ").replace("-", " ").strip()
        sections.extend(parse_sections(path.read_text(encoding="utf-8"), source, default_product))
    if not sections:
        raise CatalogError(f"FMT_CATALOG {catalog} holds no text")
    return sections


def chunk_section(section: Section, chunk_words: int, overlap_words: int) -> list[Chunk]:
    """Cut a section into overlapping word windows; each chunk keeps product and section."""
    words = section.text.split()
    step = max(1, chunk_words - overlap_words)
    chunks: list[Chunk] = []
    for start in range(0, max(1, len(words)), step):
        window = words[start : start + chunk_words]
        if not window:
            break
        ordinal = len(chunks)
        location = f"{section.source}#{section.product}/{section.title or 'text'}/{ordinal}"
        chunk_id = hashlib.sha1(location.encode()).hexdigest()[:16]
        chunks.append(
            Chunk(
                id=chunk_id,
                product=section.product,
                section=section.title,
                text=" ".join(window),
                location=location,
            )
        )
        if start + chunk_words >= len(words):
            break
    return chunks


def chunk_catalog(catalog: Path, chunk_words: int, overlap_words: int) -> list[Chunk]:
    """All chunks of the catalog, in catalog order."""
    return [
        chunk
        for section in read_sections(catalog)
        for chunk in chunk_section(section, chunk_words, overlap_words)
    ]
