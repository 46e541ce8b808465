"""Zip containers (Word files) checked from their index before anything in them is inflated."""

from __future__ import annotations

import zipfile
from pathlib import Path

from app.catalog.readers.base import BYTES_PER_MB, ReadLimits, UnreadableFile

# What zipfile inflates by itself; any other method (bzip2 and lzma aside, which Word never
# writes) raises NotImplementedError deep inside a library.
_SUPPORTED_METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})
_MARKUP_ENDINGS = (".xml", ".rels")


def check_zip(path: Path, limits: ReadLimits) -> None:
    """UnreadableFile for a zip whose members use a method Word does not write, or whose
    declared sizes pass the limits. zipfile never inflates a member past its declared size
    (the CRC check fails instead), so checking the index bounds what reading can cost."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise UnreadableFile(f"not a readable Word file ({type(error).__name__})") from error
    unpacked = 0
    for member in members:
        if member.compress_type not in _SUPPORTED_METHODS:
            raise UnreadableFile(
                f"{member.filename[:80]!r} is packed with an unsupported method "
                f"({member.compress_type})"
            )
        if member.filename.lower().endswith(_MARKUP_ENDINGS) and (
            member.file_size > limits.max_markup_bytes
        ):
            raise UnreadableFile(
                f"{member.filename[:80]!r} unpacks to {member.file_size / BYTES_PER_MB:.0f} MB, "
                f"over FMT_DOCUMENTS__MAX_MARKUP_MB={limits.max_markup_bytes / BYTES_PER_MB:g}"
            )
        unpacked += member.file_size
        if unpacked > limits.max_unpacked_bytes:
            raise UnreadableFile(
                f"unpacks to more than {limits.max_unpacked_bytes / BYTES_PER_MB:g} MB "
                "(FMT_DOCUMENTS__MAX_UNPACKED_MB)"
            )
