"""Reading a catalog path into the document model, skipping (and reporting) unreadable files."""

from __future__ import annotations

import logging
from pathlib import Path

from app.catalog.files import CatalogError, catalog_root, scan_catalog
from app.catalog.model import Catalog, Section, SkippedFile, SourceDocument
from app.catalog.readers import READERS, ReadLimits, UnreadableFile
from app.catalog.structure import document_sections
from app.settings import DocumentSettings, get_settings

logger = logging.getLogger(__name__)
BYTES_PER_MB = 1024 * 1024
REASON_MAX_CHARS = 200


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
    blocks = READERS[suffix](path, ReadLimits.of(settings))
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


def read_file(
    path: Path, source: str, settings: DocumentSettings
) -> tuple[SourceDocument, list[Section]] | SkippedFile:
    """One catalog file read in isolation: its document and sections, or why it was skipped.

    A catalog file is untrusted input handed to third-party parsers (lxml, zipfile, pypdf, json),
    which raise an open set of exceptions on a broken file (XMLSyntaxError, NotImplementedError,
    RecursionError, struct.error...). Whatever one file raises is that file's skip, with the
    reason, never the catalog's failure: one bad upload must not take the service down.
    """
    try:
        return _read_file(path, source, settings)
    except UnreadableFile as error:
        return SkippedFile(source, str(error))
    except Exception as error:  # the isolation boundary described above
        logger.debug("catalog file %s failed to parse", source, exc_info=True)
        reason = f"could not be read ({type(error).__name__}: {error})"
        return SkippedFile(source, reason[:REASON_MAX_CHARS])


def read_catalog(catalog: Path, settings: DocumentSettings | None = None) -> Catalog:
    """Every readable file of the catalog as sections; unreadable files, links and files
    outside the catalog folder are skipped with a warning. Raises CatalogError when nothing
    readable remains. Without settings, the process's `FMT_DOCUMENTS__*` apply, so every
    consumer reads the catalog the same way."""
    settings = settings or get_settings().documents
    root = catalog_root(catalog)
    documents: list[SourceDocument] = []
    sections: list[Section] = []
    files, skipped = scan_catalog(catalog)
    for path in files:
        source = path.relative_to(root).as_posix()
        result = read_file(path, source, settings)
        if isinstance(result, SkippedFile):
            skipped.append(result)
            continue
        documents.append(result[0])
        sections.extend(result[1])
    for item in skipped:
        logger.warning(
            "catalog file skipped: %s: %s", item.source, item.reason, extra={"source": item.source}
        )
    if not sections:
        reasons = "; ".join(f"{item.source}: {item.reason}" for item in skipped)
        raise CatalogError(f"FMT_CATALOG {catalog} holds no readable text ({reasons})")
    return Catalog(documents, sections, skipped)


def read_sections(catalog: Path, settings: DocumentSettings | None = None) -> list[Section]:
    """Every section of every readable file of the catalog."""
    return read_catalog(catalog, settings).sections
