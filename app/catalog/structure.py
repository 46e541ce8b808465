"""Where products and sections start in a document: headings, markers and key lines.

Structured formats mark their headings already (HTML <h1>/<h2>, Word Heading 1/2, a CSV row per
product). In text lines (txt, md, PDF text) a product starts at `=== PRODUCT: Name ===`, at a
markdown `# Name`, or at a `Name:` / `Product:` / `Title:` line opening a record; a section at
`--- Title ---`, at `## Title`, inside such key-line records at any `Label: text` line, and in a
PDF without such markers at a short line in capitals (`SAFETY INSTRUCTIONS`). The
`FMT_DOCUMENTS__PRODUCT_PATTERN` / `__SECTION_PATTERN` settings replace the built-in line patterns.
A document without product headings is one product, named by its title (HTML <title>, PDF title
metadata, Word Title), a PDF's first short line, or else the file name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.catalog.model import Block, Section, SourceDocument
from app.settings import DocumentSettings

_EXPORT_PRODUCT = re.compile(r"^\s*===\s*PRODUCT:\s*(?P<name>.+?)\s*===\s*$", re.IGNORECASE)
_MARKDOWN_PRODUCT = re.compile(r"^\s*#\s+(?P<name>[^#].*?)\s*#*\s*$")
_RECORD_OPENER = re.compile(
    r"^\s*(?:product\s+name|product|name|title)\s*:\s*(?P<name>\S.*?)\s*$", re.IGNORECASE
)
_EXPORT_SECTION = re.compile(r"^\s*---+\s*(?P<name>[^-].*?)\s*---+\s*$")
_MARKDOWN_SECTION = re.compile(r"^\s*##\s+(?P<name>[^#].*?)\s*#*\s*$")
# A manual's heading printed in capitals ("SAFETY INSTRUCTIONS"), read as a section in PDFs.
_CAPITALS_HEADING = re.compile(
    r"^\s*(?P<name>(?=[^a-z]*[A-Z]{3})[A-Z0-9][A-Z0-9 &/()'-]{2,60})\s*$"
)
CAPITALS_HEADING_MAX_WORDS = 6
_KEY_LINE = re.compile(r"^\s*(?P<name>[A-Z][\w /&()'.-]{0,40}?)\s*:\s*(?P<rest>.*)$")
KEY_LABEL_MAX_WORDS = 5
# `Product ID: KX-420` is a field of the product, not a section: its text stays with the product.
FIELD_MAX_WORDS = 3
# A PDF's first line names its product when it is this short and not a sentence.
FIRST_HEADING_MAX_WORDS = 12


@dataclass(frozen=True, slots=True)
class _Event:
    kind: str  # "product", "section" or "text"
    text: str
    page: int | None
    rest: str = ""


def _named(pattern: re.Pattern[str], line: str) -> str | None:
    match = pattern.match(line)
    if match is None:
        return None
    groups = match.groupdict()
    name = groups.get("name") or (match.group(1) if pattern.groups else match.group(0))
    return " ".join((name or "").split()) or None


class LineRules:
    """Classifies a text line as a product heading, a section heading or text."""

    def __init__(
        self, settings: DocumentSettings, key_lines: bool, capitals_headings: bool = False
    ) -> None:
        self._product = re.compile(settings.product_pattern) if settings.product_pattern else None
        self._section = re.compile(settings.section_pattern) if settings.section_pattern else None
        self._key_lines = key_lines
        self._capitals_headings = capitals_headings

    def product(self, line: str) -> str | None:
        if self._product is not None:
            return _named(self._product, line)
        patterns = (_RECORD_OPENER,) if self._key_lines else (_EXPORT_PRODUCT, _MARKDOWN_PRODUCT)
        for pattern in patterns:
            name = _named(pattern, line)
            if name is not None:
                return name
        return None

    def section(self, line: str) -> tuple[str, str] | None:
        """(section title, text on the same line) or None."""
        if self._section is not None:
            name = _named(self._section, line)
            return None if name is None else (name, "")
        for pattern in (_EXPORT_SECTION, _MARKDOWN_SECTION):
            name = _named(pattern, line)
            if name is not None:
                return name, ""
        if self._capitals_headings:
            name = _named(_CAPITALS_HEADING, line)
            if name is not None and len(name.split()) <= CAPITALS_HEADING_MAX_WORDS:
                return name, ""
        if self._key_lines and not _RECORD_OPENER.match(line):
            match = _KEY_LINE.match(line)
            if match and len(match.group("name").split()) <= KEY_LABEL_MAX_WORDS:
                rest = match.group("rest").strip()
                if not rest or len(rest.split()) > FIELD_MAX_WORDS:
                    return match.group("name").strip(), rest
        return None


def _has_section_markers(blocks: list[Block]) -> bool:
    return any(
        pattern.match(block.text)
        for block in blocks
        if block.kind == "line"
        for pattern in (_EXPORT_SECTION, _MARKDOWN_SECTION)
    )


def is_key_line_export(blocks: list[Block]) -> bool:
    """Records opened by `Name:` / `Product:` / `Title:` lines, with no heading markers."""
    lines = [block.text for block in blocks if block.kind == "line"]
    if not any(_RECORD_OPENER.match(line) for line in lines):
        return False
    markers = (_EXPORT_PRODUCT, _MARKDOWN_PRODUCT, _EXPORT_SECTION, _MARKDOWN_SECTION)
    return not any(pattern.match(line) for pattern in markers for line in lines)


def _events(blocks: list[Block], rules: LineRules) -> list[_Event]:
    events: list[_Event] = []
    for block in blocks:
        if block.kind == "title":
            continue
        if block.kind != "line":
            events.append(_Event(block.kind, block.text, block.page))
            continue
        product = rules.product(block.text)
        section = None if product is not None else rules.section(block.text)
        if product is not None:
            events.append(_Event("product", product, block.page))
        elif section is not None:
            events.append(_Event("section", section[0], block.page, rest=section[1]))
        else:
            events.append(_Event("text", block.text, block.page))
    return events


def _document_product(document: SourceDocument, events: list[_Event]) -> tuple[str, list[_Event]]:
    """The product of text outside any product heading, and the events left to read."""
    title = next((block.text for block in document.blocks if block.kind == "title"), "")
    if title:
        return title, events
    if document.format == ".pdf" and not any(event.kind == "product" for event in events):
        for index, event in enumerate(events):
            if event.text.strip():
                words = event.text.split()
                short = event.kind == "text" and len(words) <= FIRST_HEADING_MAX_WORDS
                if short and not event.text.rstrip().endswith((".", ":", ";", ",")):
                    return " ".join(words), events[index + 1 :]
                break
    return document.default_product, events


def document_sections(document: SourceDocument, settings: DocumentSettings) -> list[Section]:
    """The document's sections in reading order, each knowing its product."""
    rules = LineRules(
        settings,
        key_lines=is_key_line_export(document.blocks),
        capitals_headings=document.format == ".pdf" and not _has_section_markers(document.blocks),
    )
    product, events = _document_product(document, _events(document.blocks, rules))
    sections: list[Section] = []
    title, page = "", events[0].page if events else None
    lines_list: list[str] = []

    def flush() -> None:
        body = "\n".join(lines_list).strip()
        if body:
            sections.append(Section(product, title, body, document.source, page))

    for event in events:
        if event.kind in ("product", "section"):
            flush()
            if event.kind == "product":
                product, title = event.text, ""
            else:
                title = event.text
            lines_list = [event.rest] if event.rest else []
            page = event.page
        else:
            has_text = bool("".join(lines_list).strip())
            if has_text and event.page is not None and event.page != page:
                # A new page continues the section as its own part, so chunks know their page.
                flush()
                lines_list = []
            if not "".join(lines_list).strip():
                page = event.page
            lines_list.append(event.text)
    flush()
    return sections
