"""CSV rows and JSON records: one product each, named by their name field, fields as sections."""

from __future__ import annotations

import json
from pathlib import Path

from app.catalog import read_catalog
from app.settings import DocumentSettings

DEFAULTS = DocumentSettings()


def test_semicolon_csv_names_products_by_their_name_column(tmp_path: Path) -> None:
    (tmp_path / "export.csv").write_text(
        "SKU;Product;Safety;Notes\n"
        'KX-420;Kestrel Press;"Lower the ram; lock out Q1.";\n'
        "BW-350;Brantley Welder;Wear a shade 12 helmet.;Fit BW-DR12U rolls for aluminium.\n",
        encoding="utf-8",
    )

    sections = read_catalog(tmp_path, DEFAULTS).sections

    assert [(s.product, s.title, s.text) for s in sections] == [
        ("Kestrel Press", "", "SKU: KX-420"),
        ("Kestrel Press", "Safety", "Lower the ram; lock out Q1."),
        ("Brantley Welder", "", "SKU: BW-350"),
        ("Brantley Welder", "Safety", "Wear a shade 12 helmet."),
        ("Brantley Welder", "Notes", "Fit BW-DR12U rolls for aluminium."),
    ]


def test_json_object_records_and_nested_fields(tmp_path: Path) -> None:
    record = {
        "title": "Vantor VP-65 Pump",
        "specs": {"flow": "90 m3/h", "head": "38 m"},
        "warnings": ["Never run dry.", "Do not dead-head."],
        "discontinued": None,
    }
    (tmp_path / "pump.json").write_text(json.dumps(record), encoding="utf-8")
    (tmp_path / "bad.jsonl").write_text('{"name": "A"}\nnot json\n', encoding="utf-8")

    catalog = read_catalog(tmp_path, DEFAULTS)

    assert [(s.product, s.title, s.text) for s in catalog.sections] == [
        ("Vantor VP-65 Pump", "Specs", "flow: 90 m3/h; head: 38 m"),
        ("Vantor VP-65 Pump", "Warnings", "Never run dry.; Do not dead-head."),
    ]
    assert [(item.source, item.reason) for item in catalog.skipped] == [
        ("bad.jsonl", "line 2 is not valid JSON (Expecting value)")
    ]


def test_quoted_quotes_and_line_breaks_inside_csv_fields_are_kept(tmp_path: Path) -> None:
    (tmp_path / "plc.csv").write_text(
        "name,Configuration\n"
        'Sable SC-12,"The web server runs with user ""admin"".\nChange it at commissioning."\n',
        encoding="utf-8",
    )

    (section,) = read_catalog(tmp_path, DEFAULTS).sections

    assert section.text == 'The web server runs with user "admin". Change it at commissioning.'
