"""Reading a catalog path into the document model, skipping (and reporting) unreadable files."""

from __future__ import annotations

import logging
from pathlib import Path

from app.catalog.files import CatalogError, catalog_files, catalog_root
from app.catalog.model import Catalog, Section, SkippedFile, SourceDocument
from app.catalog.readers import READERS, UnreadableFile
from app.catalog.structure import document_sections
from app.settings import DocumentSettings, get_settings

logger = logging.getLogger(__name__)
BYTES_PER_MB = 1024 * 1024


def product_from_file_name(path: Path) -> str:
    """A file without product headings is one product named from the file."""
    return path.stem.replace("_", " ").replace("-", " ").strip() or path.name


def read_document(path: Path, source: str, settings: DocumentSettings) -> SourceDocument:
    """One file as blocks; raises UnreadableFile with the reason it cannot be used."""
    size = path.stat().st_size
    if size == 0:
        raise UnreadableFile("empty file")
    if size > settings.max_file_mb * BYTES_PER_MB:
        raise UnreadableFile(
            f"{size / BYTES_PER_MB:.0f} MB is over FMT_DOCUMENTS__MAX_FILE_MB="
            f"{settings.max_file_mb:g}"
        )
    suffix = path.suffix.lower()
    blocks = READERS[suffix](path)
    return SourceDocument(source, suffix, blocks, product_from_file_name(path))


def _read_file(
    path: Path, source: str, settings: DocumentSettings
) -> tuple[SourceDocument, list[Section]]:
    try:
        document = read_document(path, source, settings)
    except OSError as error:
        raise UnreadableFile(f"cannot be read ({error.strerror or error})") from error
    sections = document_sections(document, settings)
    if not sections:
        raise UnreadableFile("no text found")
    return document, sections


def read_catalog(catalog: Path, settings: DocumentSettings | None = None) -> Catalog:
    """Every readable file of the catalog as sections; unreadable files are skipped with a
    warning. Raises CatalogError when nothing readable remains. Without settings, the process's
    `FMT_DOCUMENTS__*` apply, so every consumer reads the catalog the same way."""
    settings = settings or get_settings().documents
    root = catalog_root(catalog)
    documents: list[SourceDocument] = []
    sections: list[Section] = []
    skipped: list[SkippedFile] = []
    for path in catalog_files(catalog):
        source = path.relative_to(root).as_posix()
        try:
            document, found = _read_file(path, source, settings)
        except UnreadableFile as error:
            skipped.append(SkippedFile(source, str(error)))
            logger.warning("catalog file skipped: %s: %s", source, error, extra={"source": source})
            continue
        documents.append(document)
        sections.extend(found)
    if not sections:
        reasons = "; ".join(f"{item.source}: {item.reason}" for item in skipped)
        raise CatalogError(f"FMT_CATALOG {catalog} holds no readable text ({reasons})")
    return Catalog(documents, sections, skipped)


def read_sections(catalog: Path, settings: DocumentSettings | None = None) -> list[Section]:
    """Every section of every readable file of the catalog."""
    return read_catalog(catalog, settings).sections
