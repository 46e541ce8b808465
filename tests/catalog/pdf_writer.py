"""A tiny PDF writer for tests: pages of Helvetica text lines and an optional /Title.

Enough for pypdf to extract the text layer page by page; no fonts embedded, WinAnsi encoding.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

LINES_PER_PAGE = 54
WRAP_COLUMNS = 95


def _escape(text: str) -> bytes:
    raw = text.encode("cp1252", errors="replace")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def _page_stream(lines: list[str]) -> bytes:
    parts = [b"BT /F1 10 Tf 12 TL 50 800 Td"]
    for line in lines:
        parts.append(b"(" + _escape(line) + b") Tj T*")
    parts.append(b"ET")
    return b"\n".join(parts)


def wrapped(paragraphs: list[str]) -> list[str]:
    """Paragraphs as printed lines, a blank line after each."""
    lines: list[str] = []
    for paragraph in paragraphs:
        lines.extend(textwrap.wrap(paragraph, WRAP_COLUMNS, break_on_hyphens=False) or [""])
        lines.append("")
    return lines


def write_pdf(path: Path, lines: list[str], title: str | None = None, text: bool = True) -> None:
    """Write `lines` over as many pages as they need; `text=False` leaves pages blank (a scan)."""
    starts = range(0, len(lines), LINES_PER_PAGE)
    pages = [lines[start : start + LINES_PER_PAGE] for start in starts] or [[]]
    objects: list[bytes] = []
    font_id, pages_id = 3, 2
    kids: list[int] = []
    body_objects: list[bytes] = []
    next_id = 4
    for page_lines in pages:
        stream = _page_stream(page_lines if text else [])
        content_id, page_id = next_id, next_id + 1
        next_id += 2
        body_objects.append(
            f"{content_id} 0 obj\n<< /Length {len(stream)} >>\nstream\n".encode()
            + stream
            + b"\nendstream\nendobj\n"
        )
        body_objects.append(
            f"{page_id} 0 obj\n<< /Type /Page /Parent {pages_id} 0 R /MediaBox [0 0 595 842] "
            f"/Contents {content_id} 0 R /Resources << /Font << /F1 {font_id} 0 R >> >> >>\n"
            "endobj\n".encode()
        )
        kids.append(page_id)
    info_id = next_id
    objects.append(b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n")
    kid_refs = " ".join(f"{kid} 0 R" for kid in kids)
    objects.append(
        f"2 0 obj\n<< /Type /Pages /Kids [{kid_refs}] /Count {len(kids)} >>\nendobj\n".encode()
    )
    objects.append(
        b"3 0 obj\n<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica "
        b"/Encoding /WinAnsiEncoding >>\nendobj\n"
    )
    objects.extend(body_objects)
    info = b"<< /Title (" + _escape(title) + b") >>" if title else b"<< >>"
    objects.append(f"{info_id} 0 obj\n".encode() + info + b"\nendobj\n")
    output = bytearray(b"%PDF-1.4\n")
    offsets = []
    for item in objects:
        offsets.append(len(output))
        output += item
    xref_at = len(output)
    output += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        output += f"{offset:010d} 00000 n \n".encode()
    output += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info {info_id} 0 R >>\n"
        f"startxref\n{xref_at}\n%%EOF\n"
    ).encode()
    path.write_bytes(bytes(output))
