"""Where products and sections start in a document: headings, markers and key lines.

Structured formats mark their headings already (Word Title / Heading 1 / Heading 2, HTML
<title> / <h1> / <h2>, a CSV row per product); Markdown's `#` and `##` lines are read the same way.
One rule of precedence, the same for all of them (docs/catalog.md):
- a level-1 heading names a product only in a document that holds several: at least two of
  them, each with level-2 headings beneath it (or, in a document without any title, each
  holding a model code such as `KX-420`); otherwise the document is one product and its
  level-1 and level-2 headings are its sections;
- that one product is named by the document's written title (Word's `Title` paragraph), else
  a lone level-1 heading that opens the document, else the file's title property (HTML
  <title>, Word core title unless a default like "Word Document", PDF title metadata), else a
  PDF's first short line, else the file name.
Explicit markers always start a product: `=== PRODUCT: Name ===`, a `Name:` / `Product:` /
`Title:` line opening a record, a CSV row or JSON record. A section starts at `--- Title ---`, at
`## Title`, inside key-line records at any `Label: text` line, and in a PDF without such markers
at a short line in capitals (`SAFETY INSTRUCTIONS`). The `FMT_DOCUMENTS__PRODUCT_PATTERN` /
`__SECTION_PATTERN` settings replace the built-in line patterns.
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
# A word holding letters and digits, like a model code (KX-420, TL1600).
_MODEL_CODE = re.compile(r"(?=[\w-]*\d)(?=[\w-]*[^\W\d_])\w+(?:-\w+)*")


@dataclass(frozen=True, slots=True)
class _Event:
    kind: str  # "product", "heading" (level 1), "section" or "text"
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
        """The product an explicit marker starts (whatever else the document holds)."""
        if self._product is not None:
            return _named(self._product, line)
        return _named(_RECORD_OPENER if self._key_lines else _EXPORT_PRODUCT, line)

    def heading(self, line: str) -> str | None:
        """A Markdown level-1 heading (`# Name`): a product or a section, as for Word's."""
        if self._product is not None or self._key_lines:
            return None
        return _named(_MARKDOWN_PRODUCT, line)

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


def _line_event(block: Block, rules: LineRules) -> _Event:
    product = rules.product(block.text)
    if product is not None:
        return _Event("product", product, block.page)
    heading = rules.heading(block.text)
    if heading is not None:
        return _Event("heading", heading, block.page)
    section = rules.section(block.text)
    if section is not None:
        return _Event("section", section[0], block.page, rest=section[1])
    return _Event("text", block.text, block.page)


def _events(blocks: list[Block], rules: LineRules) -> list[_Event]:
    events: list[_Event] = []
    for block in blocks:
        if block.kind in ("title", "property_title"):
            continue
        if block.kind == "line":
            events.append(_line_event(block, rules))
        else:
            events.append(_Event(block.kind, block.text, block.page))
    return events


def _headings_name_products(events: list[_Event], titled: bool) -> bool:
    """Whether the level-1 headings are products: several, each with sections beneath it (a
    catalog), or, without a title, each holding a model code. A manual's `Description`,
    `Safety instructions` and `Maintenance` are sections of the one product it describes."""
    headings = [index for index, event in enumerate(events) if event.kind == "heading"]
    if len(headings) < 2:
        return False
    ends = [*headings[1:], len(events)]
    with_sections = all(
        any(event.kind == "section" for event in events[start + 1 : end])
        for start, end in zip(headings, ends, strict=True)
    )
    coded = all(_MODEL_CODE.search(events[index].text) for index in headings)
    return with_sections or (coded and not titled)


def _as(kind: str, event: _Event) -> _Event:
    return _Event(kind, event.text, event.page, event.rest)


def _resolve_headings(
    events: list[_Event], written_title: bool, property_title: bool
) -> tuple[str | None, list[_Event]]:
    """Level-1 headings turned into products or sections, and the name a lone heading opening
    the document gives its one product (None when there is none, or a written title names it)."""
    if _headings_name_products(events, written_title or property_title):
        return None, [_as("product", e) if e.kind == "heading" else e for e in events]
    headings = [event for event in events if event.kind == "heading"]
    first = next((event for event in events if event.text.strip()), None)
    if not written_title and len(headings) == 1 and first is headings[0]:
        return first.text, [event for event in events if event is not first]
    return None, [_as("section", e) if e.kind == "heading" else e for e in events]


def _title(document: SourceDocument, kind: str) -> str:
    return next((block.text for block in document.blocks if block.kind == kind), "")


def _document_product(document: SourceDocument, events: list[_Event]) -> tuple[str, list[_Event]]:
    """The product of text outside any product heading, and the events left to read."""
    written, named_by_property = _title(document, "title"), _title(document, "property_title")
    lone_heading, events = _resolve_headings(events, bool(written), bool(named_by_property))
    title = written or lone_heading or named_by_property
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
