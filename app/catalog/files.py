"""Which files make up a catalog, and a content hash that changes whenever the catalog does."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from app.catalog.model import SkippedFile
from app.catalog.readers import READERS

CATALOG_SUFFIXES = tuple(READERS)
# A Knowledge Base sidecar or a folder's README describes the catalog; it is not part of it.
_NOT_CATALOG_NAMES = ("readme.md", "readme.txt")
_NOT_CATALOG_ENDINGS = (".metadata.json",)
HASH_BLOCK_BYTES = 1 << 20


class CatalogError(ValueError):
    """The configured catalog is missing or holds no readable text."""


def _is_catalog_file(path: Path) -> bool:
    name = path.name.lower()
    return (
        path.suffix.lower() in CATALOG_SUFFIXES
        and name not in _NOT_CATALOG_NAMES
        and not name.endswith(_NOT_CATALOG_ENDINGS)
        and not name.startswith(".")
    )


def catalog_root(catalog: Path) -> Path:
    """The folder that sources are named relative to."""
    return catalog if catalog.is_dir() else catalog.parent


def _walk(folder: Path) -> tuple[list[Path], list[SkippedFile]]:
    """The folder's catalog files, and the links and paths leaving it, which are not read: an
    unpacked archive may hold `notes.txt -> /etc/passwd`, whose text would be quoted back."""
    inside = folder.resolve()
    files: list[Path] = []
    refused: list[SkippedFile] = []
    for directory, folders, names in os.walk(folder):  # never descends into linked folders
        here = Path(directory)
        for name in sorted(folders):
            if (here / name).is_symlink():
                source = (here / name).relative_to(folder).as_posix()
                refused.append(SkippedFile(source, "a symbolic link: links are not followed"))
        for name in names:
            path = here / name
            if not _is_catalog_file(path.relative_to(folder)):
                continue
            source = path.relative_to(folder).as_posix()
            if path.is_symlink():
                refused.append(SkippedFile(source, "a symbolic link: links are not followed"))
            elif not path.resolve().is_relative_to(inside):
                refused.append(SkippedFile(source, "outside the catalog folder"))
            elif path.is_file():
                files.append(path)
    return sorted(files), sorted(refused, key=lambda item: item.source)


def scan_catalog(catalog: Path) -> tuple[list[Path], list[SkippedFile]]:
    """The catalog's files in a stable order (the file, or the folder's files of a read format),
    and the entries refused without reading (links, paths leaving the folder)."""
    formats = " ".join(CATALOG_SUFFIXES)
    if catalog.is_file():
        if catalog.suffix.lower() not in CATALOG_SUFFIXES:
            raise CatalogError(f"FMT_CATALOG file {catalog} is not of a read format ({formats})")
        return [catalog], []
    if catalog.is_dir():
        files, refused = _walk(catalog)
        if files or refused:
            return files, refused
        raise CatalogError(
            f"FMT_CATALOG folder {catalog} has no files of a read format ({formats})"
        )
    raise CatalogError(f"FMT_CATALOG path {catalog} does not exist")


def catalog_files(catalog: Path) -> list[Path]:
    """The catalog's files in a stable order: the file, or the folder's files of a read format
    (links and paths leaving the folder left out)."""
    return scan_catalog(catalog)[0]


def catalog_hash(catalog: Path) -> str:
    """SHA-256 over the catalog's file names and contents: changes whenever the catalog does."""
    digest = hashlib.sha256()
    root = catalog_root(catalog)
    for path in catalog_files(catalog):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(b"\0")
        # Streamed (a skipped 200 MB file is not held in memory), hashing the same bytes as before
        # so that adapters trained for a catalog keep their key.
        with path.open("rb") as stream:
            for block in iter(lambda: stream.read(HASH_BLOCK_BYTES), b""):
                digest.update(block)
        digest.update(b"\0")
    return digest.hexdigest()
