"""The one document model: file -> blocks -> product sections -> chunks, plus skipped files."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

# What a reader knows about a piece of text. Readers of structured formats (HTML, Word, CSV,
# JSON) say which text is a heading; plain-text readers (txt, md, PDF text) hand over `line`s and
# leave the product and section markers in them to `app.catalog.structure`.
#   title            a title written in the document (Word's `Title` paragraph)
#   property_title   a title from the file's properties (Word core title, HTML <title>, PDF info)
#   heading          a level-1 heading (Word `Heading 1`, HTML <h1>): a product in a document
#                    that holds several, else a section (`app.catalog.structure` decides)
#   product          a record that is a product whatever the document holds (a CSV row, JSON)
#   section          a level-2 heading (Word `Heading 2`, HTML <h2>) or a record's field
BlockKind = Literal["title", "property_title", "heading", "product", "section", "text", "line"]


@dataclass(frozen=True, slots=True)
class Block:
    """One piece of a document as read: a title, a heading, a paragraph or a raw line."""

    kind: BlockKind
    text: str
    page: int | None = None


@dataclass(frozen=True, slots=True)
class SourceDocument:
    """A readable catalog file as a sequence of blocks; `source` is relative to the catalog."""

    source: str
    format: str
    blocks: list[Block]
    default_product: str


@dataclass(frozen=True, slots=True)
class Section:
    """A product's section: its heading (may be empty), its text, and where it was read."""

    product: str
    title: str
    text: str
    source: str
    page: int | None = None


@dataclass(frozen=True, slots=True)
class Chunk:
    """What retrieval indexes and returns: a piece of one section of one product."""

    id: str
    product: str
    section: str
    text: str
    location: str
    source: str = ""
    page: int | None = None


@dataclass(frozen=True, slots=True)
class SkippedFile:
    """A catalog file that was not read, and why (shown by inspect, logged at indexing)."""

    source: str
    reason: str


@dataclass(frozen=True, slots=True)
class Catalog:
    """Everything read from a catalog path: the sections of the readable files and the rest."""

    documents: list[SourceDocument]
    sections: list[Section]
    skipped: list[SkippedFile] = field(default_factory=list)

    def products(self) -> list[str]:
        """Product names in catalog order, each once."""
        return list(dict.fromkeys(section.product for section in self.sections))
