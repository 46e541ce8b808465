"""The sample catalog written in every format users bring (parsed here, not by app.catalog)."""

from __future__ import annotations

import csv
import html
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import docx

from app.settings import PROJECT_ROOT
from tests.catalog.pdf_writer import wrapped, write_pdf

SAMPLE_CATALOG = PROJECT_ROOT / "data" / "kb" / "catalog.txt"
_PRODUCT = re.compile(r"^=== PRODUCT: (.+) ===$")
_SECTION = re.compile(r"^--- (.+) ---$")


@dataclass(frozen=True, slots=True)
class SampleProduct:
    name: str
    code: str
    sections: dict[str, str]


def sample_products() -> list[SampleProduct]:
    """The sample catalog's products, sections and texts."""
    products: list[SampleProduct] = []
    name, code, sections, current = "", "", {}, ""
    for line in SAMPLE_CATALOG.read_text(encoding="utf-8").splitlines():
        if match := _PRODUCT.match(line):
            if name:
                products.append(SampleProduct(name, code, sections))
            name, code, sections, current = match.group(1), "", {}, ""
        elif match := _SECTION.match(line):
            current = match.group(1)
            sections[current] = ""
        elif line.startswith("Product ID:"):
            code = line.split(":", 1)[1].strip()
        elif line.strip() and current:
            sections[current] = f"{sections[current]} {line.strip()}".strip()
    products.append(SampleProduct(name, code, sections))
    return products


def write_markdown(products: list[SampleProduct], path: Path) -> None:
    parts = []
    for product in products:
        parts.append(f"# {product.name}\n\nProduct ID: {product.code}\n")
        parts += [f"## {title}\n\n{text}\n" for title, text in product.sections.items()]
    path.write_text("\n".join(parts), encoding="utf-8")


def write_key_lines(products: list[SampleProduct], path: Path) -> None:
    """A plain-text export: `Name:` opens a record, `Description:` and other keys follow."""
    records = []
    for product in products:
        lines = [f"Name: {product.name}", f"Product ID: {product.code}"]
        lines += [f"{title}: {text}" for title, text in product.sections.items()]
        records.append("\n".join(lines))
    path.write_text("\n\n".join(records) + "\n", encoding="utf-8")


def write_html(products: list[SampleProduct], path: Path) -> None:
    body = []
    for product in products:
        body.append(f"<h1>{html.escape(product.name)}</h1><p>Product ID: {product.code}</p>")
        body += [
            f"<h2>{html.escape(title)}</h2>\n<p>{html.escape(text)}</p>"
            for title, text in product.sections.items()
        ]
    page = (
        "<!doctype html><html><head><title>Corvane catalog</title>"
        "<style>h1 {color: red}</style><script>var x = 1;</script></head><body>"
        "<nav>Home | Products</nav>" + "\n".join(body) + "</body></html>"
    )
    path.write_text(page, encoding="utf-8")


def write_pdf_catalog(products: list[SampleProduct], path: Path) -> None:
    paragraphs = []
    for product in products:
        paragraphs += [f"=== PRODUCT: {product.name} ===", f"Product ID: {product.code}"]
        for title, text in product.sections.items():
            paragraphs += [f"--- {title} ---", text]
    write_pdf(path, wrapped(paragraphs), title="Corvane Industrial Systems catalog")


def write_docx(products: list[SampleProduct], path: Path) -> None:
    document = docx.Document()
    document.add_heading("Corvane Industrial Systems catalog", level=0)
    for product in products:
        document.add_heading(product.name, level=1)
        document.add_paragraph(f"Product ID: {product.code}")
        for title, text in product.sections.items():
            document.add_heading(title, level=2)
            document.add_paragraph(text)
    document.save(str(path))


def write_csv(products: list[SampleProduct], path: Path) -> None:
    titles = list(products[0].sections)
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["Product Name", "Product ID", *titles])
        for product in products:
            writer.writerow([product.name, product.code, *product.sections.values()])


def _records(products: list[SampleProduct]) -> list[dict[str, str]]:
    return [
        {"name": product.name, "product_id": product.code, **product.sections}
        for product in products
    ]


def write_json(products: list[SampleProduct], path: Path) -> None:
    path.write_text(json.dumps({"products": _records(products)}, indent=1), encoding="utf-8")


def write_jsonl(products: list[SampleProduct], path: Path) -> None:
    lines = [json.dumps(record) for record in _records(products)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


Converter = Callable[[list[SampleProduct], Path], None]

CONVERTERS: dict[str, Converter] = {
    "catalog.md": write_markdown,
    "export.txt": write_key_lines,
    "catalog.html": write_html,
    "catalog.pdf": write_pdf_catalog,
    "catalog.docx": write_docx,
    "catalog.csv": write_csv,
    "catalog.json": write_json,
    "catalog.jsonl": write_jsonl,
}


def write_mixed_folder(products: list[SampleProduct], folder: Path) -> list[str]:
    """A PDF manual, an HTML page, a Word file, a Markdown file and a key-line text export with
    two products, as a user would collect them; returns the six product names."""
    folder.mkdir(parents=True, exist_ok=True)
    manual, page, word, markdown, *exported = products[:6]
    # A manual with plain headings and no markers: its title metadata names the product.
    lines = [manual.name, ""]
    for title, text in manual.sections.items():
        lines += [title.upper(), *wrapped([text])]
    write_pdf(folder / "kx420_manual_rev3.pdf", lines, title=manual.name)
    sections = "".join(
        f"<h2>{html.escape(title)}</h2><p>{html.escape(text)}</p>"
        for title, text in page.sections.items()
    )
    (folder / "product-page.html").write_text(
        f"<html><head><title>{html.escape(page.name)} | Corvane</title></head><body>"
        f"<nav>Home</nav><h1>{html.escape(page.name)}</h1>{sections}</body></html>",
        encoding="utf-8",
    )
    document = docx.Document()
    document.add_heading(word.name, level=0)
    for title, text in word.sections.items():
        document.add_heading(title, level=2)
        document.add_paragraph(text)
    document.save(str(folder / "datasheet.docx"))
    write_markdown([markdown], folder / "notes.md")
    write_key_lines(exported, folder / "product catalog.txt")
    return [product.name for product in products[:6]]
