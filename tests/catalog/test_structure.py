"""Products and sections found in the formats users have, not only ours."""

from __future__ import annotations

from pathlib import Path

import docx
import pytest

from app.catalog import CatalogError, catalog_files, catalog_hash, read_catalog, read_sections
from app.settings import DocumentSettings
from tests.catalog.pdf_writer import write_pdf

EXPORT_FORMAT = """\
=== PRODUCT: Kestrel KX-420 Hydraulic Press ===
Product ID: KX-420

--- Description ---
A four-post press rated at 420 kN.

--- Safety Instructions ---
Lower the ram onto the safety blocks.

=== PRODUCT: Brantley BW-350 MIG Welder ===
--- Description ---
An inverter welder, 350 A at 60% duty cycle.
"""

MARKDOWN_FORMAT = """\
# Orrin OC-880 Belt Conveyor

## Description
A modular plastic belt conveyor.

## Operation Instructions
Five blinks mean belt slip.
### Not a section
still operation text
"""

KEY_LINE_EXPORT = """\
Name: Kestrel KX-420 Hydraulic Press
Product ID: KX-420
Description: A four-post hydraulic press rated at 420 kN.
It stores up to 200 recipes.
Safety: Lower the ram onto the red safety blocks before any work under it.

Name: Brantley BW-350 MIG Welder
Description: An inverter MIG welder delivering 350 A at 60% duty cycle.
Maintenance: Replace the contact tip after 8 hours of arc time.
"""

DEFAULTS = DocumentSettings()


def _pairs(path: Path, settings: DocumentSettings = DEFAULTS) -> list[tuple[str, str]]:
    return [(s.product, s.title) for s in read_catalog(path, settings).sections]


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_export_headings_give_products_and_sections(tmp_path: Path) -> None:
    sections = read_catalog(_write(tmp_path / "catalog.txt", EXPORT_FORMAT), DEFAULTS).sections

    assert [(section.product, section.title) for section in sections] == [
        ("Kestrel KX-420 Hydraulic Press", ""),
        ("Kestrel KX-420 Hydraulic Press", "Description"),
        ("Kestrel KX-420 Hydraulic Press", "Safety Instructions"),
        ("Brantley BW-350 MIG Welder", "Description"),
    ]
    assert sections[0].text == "Product ID: KX-420"
    assert all(section.source == "catalog.txt" for section in sections)


def test_markdown_headings_give_products_and_sections(tmp_path: Path) -> None:
    path = _write(tmp_path / "conveyor.md", MARKDOWN_FORMAT)

    sections = read_catalog(path, DEFAULTS).sections

    assert [(s.product, s.title) for s in sections] == [
        ("Orrin OC-880 Belt Conveyor", "Description"),
        ("Orrin OC-880 Belt Conveyor", "Operation Instructions"),
    ]
    assert "still operation text" in sections[1].text


def test_key_line_export_gives_a_product_per_record_and_a_section_per_key(
    tmp_path: Path,
) -> None:
    path = _write(tmp_path / "product catalog.txt", KEY_LINE_EXPORT)

    sections = read_catalog(path, DEFAULTS).sections

    assert [(s.product, s.title) for s in sections] == [
        ("Kestrel KX-420 Hydraulic Press", ""),
        ("Kestrel KX-420 Hydraulic Press", "Description"),
        ("Kestrel KX-420 Hydraulic Press", "Safety"),
        ("Brantley BW-350 MIG Welder", "Description"),
        ("Brantley BW-350 MIG Welder", "Maintenance"),
    ]
    assert sections[0].text == "Product ID: KX-420"  # a field of the product, as in our format
    assert sections[1].text.endswith("It stores up to 200 recipes.")


def test_key_lines_in_a_headed_catalog_are_text(tmp_path: Path) -> None:
    text = "# Press\n## Setup\nNote: torque the nuts to 680 N·m.\nName: not a product\n"

    assert _pairs(_write(tmp_path / "press.md", text)) == [("Press", "Setup")]


def test_text_without_headings_is_one_product_named_from_the_file(tmp_path: Path) -> None:
    _write(tmp_path / "quillon_qd-40.txt", "Bench drill, 40 mm in steel.")

    assert _pairs(tmp_path) == [("quillon qd 40", "")]


def test_html_h1_products_h2_sections_and_title_fallback(tmp_path: Path) -> None:
    _write(
        tmp_path / "a.html",
        "<html><head><title>Shop</title><script>var h1 = 2;</script></head><body>"
        "<nav>Home</nav><h1>Orrin OC-880</h1><h2>Safety</h2><p>Do not ride the belt.</p>"
        "<h2>Operation</h2><ul><li>Press RESET.</li><li>Wait 3 s.</li></ul></body></html>",
    )
    _write(
        tmp_path / "b.htm",
        "<html><head><title>Vantor VP-65 Pump</title></head><body><p>Never run dry.</p></body>",
    )

    sections = read_catalog(tmp_path, DEFAULTS).sections

    assert [(s.product, s.title) for s in sections] == [
        ("Orrin OC-880", "Safety"),
        ("Orrin OC-880", "Operation"),
        ("Vantor VP-65 Pump", ""),
    ]
    assert sections[1].text == "Press RESET.\nWait 3 s."


def test_pdf_product_from_title_metadata_else_first_heading(tmp_path: Path) -> None:
    write_pdf(tmp_path / "manual.pdf", ["Never run the pump dry."], title="Vantor VP-65 Pump")
    write_pdf(tmp_path / "sensor.pdf", ["Halden HP-30 Sensor", "", "Range is 10 mm."])

    assert _pairs(tmp_path) == [("Vantor VP-65 Pump", ""), ("Halden HP-30 Sensor", "")]


def test_word_title_heading_1_products_heading_2_sections(tmp_path: Path) -> None:
    single = docx.Document()
    single.add_heading("Torvik TL-1600 CNC Lathe", level=0)
    single.add_heading("Safety", level=2)
    single.add_paragraph("Close the door before the spindle starts.")
    single.save(str(tmp_path / "lathe.docx"))
    several = docx.Document()
    for name in ("Press", "Welder"):
        several.add_heading(name, level=1)
        several.add_heading("Description", level=2)
        several.add_paragraph(f"The {name.lower()} description.")
    several.save(str(tmp_path / "two.docx"))

    assert _pairs(tmp_path) == [
        ("Torvik TL-1600 CNC Lathe", "Safety"),
        ("Press", "Description"),
        ("Welder", "Description"),
    ]


def test_patterns_from_settings_replace_the_built_in_headings(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "odd.txt",
        "** Press **\n[Safety]\nBlocks first.\n# not a product\n** Welder **\n[Setup]\nP01.\n",
    )
    settings = DocumentSettings(product_pattern=r"^\*\* (.+) \*\*$", section_pattern=r"^\[(.+)\]$")

    sections = read_catalog(path, settings).sections

    assert [(s.product, s.title) for s in sections] == [
        ("Press", "Safety"),
        ("Welder", "Setup"),
    ]
    assert "# not a product" in sections[0].text


def test_folder_reads_every_format_but_not_readme_or_sidecars(tmp_path: Path) -> None:
    _write(tmp_path / "export.txt", EXPORT_FORMAT)
    _write(tmp_path / "sub" / "conveyor.md", MARKDOWN_FORMAT)
    _write(tmp_path / "README.md", "# Not a product\nabout this folder")
    _write(tmp_path / "export.txt.metadata.json", '{"metadataAttributes": {}}')
    _write(tmp_path / "prices.xlsx", "not read")

    files = catalog_files(tmp_path)

    assert [path.relative_to(tmp_path).as_posix() for path in files] == [
        "export.txt",
        "sub/conveyor.md",
    ]
    assert read_catalog(tmp_path, DEFAULTS).products() == [
        "Kestrel KX-420 Hydraulic Press",
        "Brantley BW-350 MIG Welder",
        "Orrin OC-880 Belt Conveyor",
    ]


def test_missing_or_empty_catalog_is_an_error_naming_the_setting(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    _write(tmp_path / "blank.txt", "\n  \n")

    with pytest.raises(CatalogError, match="FMT_CATALOG"):
        catalog_files(tmp_path / "missing")
    with pytest.raises(CatalogError, match="FMT_CATALOG"):
        catalog_files(tmp_path / "empty")
    with pytest.raises(CatalogError, match=r"FMT_CATALOG .*blank\.txt: no text found"):
        read_sections(tmp_path / "blank.txt", DEFAULTS)


def test_hash_changes_with_content_and_files_only(tmp_path: Path) -> None:
    export = _write(tmp_path / "export.txt", EXPORT_FORMAT)
    first = catalog_hash(tmp_path)

    assert catalog_hash(tmp_path) == first
    export.write_text(EXPORT_FORMAT.replace("420 kN", "430 kN"), encoding="utf-8")
    changed = catalog_hash(tmp_path)
    assert changed != first
    _write(tmp_path / "conveyor.md", MARKDOWN_FORMAT)
    assert catalog_hash(tmp_path) not in {first, changed}


def test_a_pdf_manual_s_capitalised_headings_are_its_sections(tmp_path: Path) -> None:
    write_pdf(
        tmp_path / "manual.pdf",
        [
            "SAFETY",
            "Never run the pump dry.",
            "OPERATION",
            "Prime the casing first. DO NOT START THE PUMP WITH THE DISCHARGE VALVE SHUT",
        ],
        title="Vantor VP-65 Pump",
    )

    sections = read_catalog(tmp_path, DEFAULTS).sections

    assert [(s.product, s.title) for s in sections] == [
        ("Vantor VP-65 Pump", "SAFETY"),
        ("Vantor VP-65 Pump", "OPERATION"),
    ]
    assert sections[1].page == 1


def test_a_word_table_stays_in_the_section_it_is_printed_in(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_heading("Fenwick FN-28 Nutrunner", level=1)
    document.add_heading("Torque settings", level=2)
    table = document.add_table(rows=2, cols=2)
    for row, (joint, torque) in enumerate((("M8", "25 N·m"), ("M10", "50 N·m"))):
        table.cell(row, 0).text, table.cell(row, 1).text = joint, torque
    document.add_heading("Safety", level=2)
    document.add_paragraph("Hold the reaction bar.")
    document.save(str(tmp_path / "nutrunner.docx"))

    sections = read_catalog(tmp_path, DEFAULTS).sections

    assert [(s.title, s.text) for s in sections] == [
        ("Torque settings", "M8 | 25 N·m\nM10 | 50 N·m"),
        ("Safety", "Hold the reaction bar."),
    ]


MANUAL_SECTIONS = {
    "Description": "A 1600 mm centre lathe with a 7.5 kW spindle motor and a 52 mm bore.",
    "Safety instructions": "Close the chuck guard before the spindle starts; wear goggles.",
    "Maintenance": "Oil the ways daily and change the headstock oil every 500 hours.",
}


def test_a_word_manual_s_title_names_its_product_and_heading_1s_are_its_sections(
    tmp_path: Path,
) -> None:
    manual = docx.Document()
    manual.core_properties.title = "Word Document"  # a default: it names nothing
    manual.add_paragraph("Torvik TL-1600 Lathe", style="Title")
    for title, text in MANUAL_SECTIONS.items():
        manual.add_heading(title, level=1)
        manual.add_paragraph(text)
    manual.save(str(tmp_path / "manual.docx"))

    assert _pairs(tmp_path) == [("Torvik TL-1600 Lathe", title) for title in MANUAL_SECTIONS]


def test_a_word_manual_without_a_title_paragraph_is_named_by_its_core_title(
    tmp_path: Path,
) -> None:
    manual = docx.Document()
    manual.core_properties.title = "Torvik TL-1600 Lathe"
    for title, text in MANUAL_SECTIONS.items():
        manual.add_heading(title, level=1)
        manual.add_paragraph(text)
    manual.save(str(tmp_path / "tl1600.docx"))

    assert _pairs(tmp_path) == [("Torvik TL-1600 Lathe", title) for title in MANUAL_SECTIONS]


def test_html_and_markdown_manuals_follow_the_same_precedence(tmp_path: Path) -> None:
    sections = "".join(f"<h1>{title}</h1><p>{text}</p>" for title, text in MANUAL_SECTIONS.items())
    _write(
        tmp_path / "a.html",
        f"<html><head><title>Torvik TL-1600 Lathe</title></head><body>{sections}</body></html>",
    )
    markdown = "".join(f"# {title}\n{text}\n" for title, text in MANUAL_SECTIONS.items())
    _write(tmp_path / "torvik_tl-1600.md", markdown)

    assert _pairs(tmp_path) == [
        *[("Torvik TL-1600 Lathe", title) for title in MANUAL_SECTIONS],
        *[("torvik tl 1600", title) for title in MANUAL_SECTIONS],
    ]


def test_heading_1s_name_products_only_in_a_document_of_several(tmp_path: Path) -> None:
    catalog = docx.Document()
    catalog.add_paragraph("Corvane catalog", style="Title")
    for name in ("Kestrel KX-420 Press", "Orion W-90 Welder"):
        catalog.add_heading(name, level=1)
        catalog.add_heading("Description", level=2)
        catalog.add_paragraph(f"The {name} described in a sentence.")
    catalog.save(str(tmp_path / "catalog.docx"))
    untitled = docx.Document()
    for name in ("Halden HP-30 Sensor", "Vantor VP-65 Pump"):
        untitled.add_heading(name, level=1)
        untitled.add_paragraph(f"The {name} described in a sentence.")
    untitled.save(str(tmp_path / "products.docx"))

    assert _pairs(tmp_path) == [
        ("Kestrel KX-420 Press", "Description"),
        ("Orion W-90 Welder", "Description"),
        ("Halden HP-30 Sensor", ""),
        ("Vantor VP-65 Pump", ""),
    ]
