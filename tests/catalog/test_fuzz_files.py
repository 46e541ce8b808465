"""Property: mutated DOCX, PDF, HTML, JSON and CSV files are read as text or skipped with a
reason, and never raise out of the catalog (issue 27). Runs in the normal suite (bounded)."""

from __future__ import annotations

import io
import zipfile
from functools import cache
from pathlib import Path
from tempfile import TemporaryDirectory

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.catalog import read_catalog
from app.catalog.model import Section, SkippedFile
from app.catalog.reading import read_file
from app.settings import DocumentSettings
from tests.catalog.converters import (
    sample_products,
    write_csv,
    write_docx,
    write_html,
    write_json,
    write_pdf_catalog,
)
from tests.catalog.hostile_files import DOCUMENT_XML

WRITERS = {
    "catalog.docx": write_docx,
    "catalog.pdf": write_pdf_catalog,
    "catalog.html": write_html,
    "catalog.json": write_json,
    "catalog.csv": write_csv,
}
# Small limits, so that a mutation that happens to inflate a file is cheap to refuse.
LIMITS = DocumentSettings(max_file_mb=2, max_unpacked_mb=8, max_markup_mb=4, max_text_mb=2)
FUZZ = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)


@cache
def valid_file(name: str) -> bytes:
    with TemporaryDirectory() as folder:
        path = Path(folder) / name
        WRITERS[name](sample_products()[:3], path)
        return path.read_bytes()


# One edit of a byte string: (where as a fraction of its length, what, the bytes it puts there).
edits = st.lists(
    st.tuples(
        st.floats(0, 1),
        st.sampled_from(["replace", "insert", "delete", "truncate", "repeat"]),
        st.binary(min_size=1, max_size=16)
        | st.sampled_from([b"<", b"{", b"[", b'"', b"\x00", b"\xff", b"<w:p>", b"obj", b"\n"]),
    ),
    min_size=1,
    max_size=6,
)


def mutate(data: bytes, changes: list[tuple[float, str, bytes]]) -> bytes:
    for where, what, piece in changes:
        at = int(where * len(data))
        if what == "replace":
            data = data[:at] + piece + data[at + len(piece) :]
        elif what == "insert":
            data = data[:at] + piece + data[at:]
        elif what == "delete":
            data = data[:at] + data[at + len(piece) :]
        elif what == "truncate":
            data = data[:at]
        else:
            data = data[:at] + data[at : at + 64] * 50 + data[at:]
    return data


def mutate_docx_part(data: bytes, changes: list[tuple[float, str, bytes]]) -> bytes:
    """A Word file with a valid zip whose document XML is mutated: the parser sees the damage."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(buffer, "w") as target:
        for info in source.infolist():
            member = source.read(info)
            target.writestr(
                info, mutate(member, changes) if info.filename == DOCUMENT_XML else member
            )
    return buffer.getvalue()


def assert_text_or_skip(name: str, data: bytes) -> None:
    with TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        result = read_file(path, name, LIMITS)
        if isinstance(result, SkippedFile):
            assert result.source == name and result.reason
        else:
            document, sections = result
            assert document.source == name and sections
            assert all(isinstance(section, Section) and section.text for section in sections)


@FUZZ
@given(name=st.sampled_from(sorted(WRITERS)), changes=edits)
def test_a_mutated_file_is_read_as_text_or_skipped(
    name: str, changes: list[tuple[float, str, bytes]]
) -> None:
    assert_text_or_skip(name, mutate(valid_file(name), changes))


@FUZZ
@given(changes=edits)
def test_a_word_file_with_mutated_xml_is_read_as_text_or_skipped(
    changes: list[tuple[float, str, bytes]],
) -> None:
    assert_text_or_skip("catalog.docx", mutate_docx_part(valid_file("catalog.docx"), changes))


def test_a_catalog_of_mutated_files_keeps_its_good_file(tmp_path: Path) -> None:
    """Every format broken at once next to one good file: the catalog still answers."""
    changes = [(0.5, "truncate", b"x")]
    for name in WRITERS:
        data = valid_file(name)
        broken = (
            mutate_docx_part(data, changes) if name.endswith(".docx") else data[: len(data) // 2]
        )
        (tmp_path / f"broken-{name}").write_bytes(broken)
    (tmp_path / "good.md").write_text(
        "# Halden HP-30 Sensor\n## Description\nA pressure sensor reading 0 to 400 bar.\n"
    )

    catalog = read_catalog(tmp_path, LIMITS)

    assert "Halden HP-30 Sensor" in catalog.products()
