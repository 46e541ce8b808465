"""Builders of hostile catalog files: broken Word files, zip bombs, deep JSON, links."""

from __future__ import annotations

import struct
import zipfile
from collections.abc import Callable
from pathlib import Path

import docx

DOCUMENT_XML = "word/document.xml"
DEFLATE64 = 9  # a zip method zipfile cannot inflate (NotImplementedError)
_LOCAL_HEADER, _CENTRAL_HEADER = b"PK\x03\x04", b"PK\x01\x02"


def write_manual(path: Path, title: str = "Halden HP-30 Sensor") -> Path:
    document = docx.Document()
    document.add_heading(title, level=0)
    document.add_heading("Description", level=1)
    document.add_paragraph("A pressure sensor reading 0 to 400 bar with a 4-20 mA output.")
    document.save(str(path))
    return path


def rewrite_member(path: Path, name: str, change: Callable[[bytes], bytes]) -> None:
    """The Word file with one member's bytes changed (the zip itself stays valid)."""
    with zipfile.ZipFile(path) as archive:
        members = [(info, archive.read(info)) for info in archive.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, data in members:
            archive.writestr(info.filename, change(data) if info.filename == name else data)


def write_truncated_docx(path: Path) -> Path:
    write_manual(path)
    rewrite_member(path, DOCUMENT_XML, lambda data: data[: len(data) // 2])
    return path


def write_unsupported_method_docx(path: Path) -> Path:
    """A Word file whose document part claims Deflate64, in both of the zip's headers."""
    write_manual(path)
    data = bytearray(path.read_bytes())
    name = DOCUMENT_XML.encode()
    # (signature, offset of the method, of the name's length, of the name) in each header.
    for signature, method_at, length_at, name_at in (
        (_LOCAL_HEADER, 8, 26, 30),
        (_CENTRAL_HEADER, 10, 28, 46),
    ):
        start = data.find(signature)
        while start != -1:
            (name_length,) = struct.unpack_from("<H", data, start + length_at)
            if data[start + name_at : start + name_at + name_length] == name:
                struct.pack_into("<H", data, start + method_at, DEFLATE64)
            start = data.find(signature, start + 4)
    path.write_bytes(bytes(data))
    return path


def write_inflating_docx(path: Path, unpacked_mb: int = 200) -> Path:
    """A valid Word file of a few hundred kB whose document part inflates to `unpacked_mb`."""
    write_manual(path)
    with zipfile.ZipFile(path) as archive:
        members = [(info.filename, archive.read(info)) for info in archive.infolist()]
    head = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        b"<w:body><w:p><w:r><w:t>"
    )
    block = b"A" * (1024 * 1024)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, data in members:
            if name != DOCUMENT_XML:
                archive.writestr(name, data)
                continue
            with archive.open(name, "w", force_zip64=True) as member:
                member.write(head)
                for _ in range(unpacked_mb):
                    member.write(block)
                member.write(b"</w:t></w:r></w:p></w:body></w:document>")
    return path


def write_deep_json(path: Path, depth: int = 100_000) -> Path:
    path.write_text('{"name": "Deep", "spec": ' + "[" * depth + "]" * depth + "}")
    return path
