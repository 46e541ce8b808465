"""HTML pages with the standard library's parser: <title>, <h1> and <h2> headings, text."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

from app.catalog.model import Block, BlockKind
from app.catalog.readers.base import ReadLimits, check_text_size
from app.catalog.readers.text import decode_text

_HEADING_KINDS: dict[str, BlockKind] = {"title": "property_title", "h1": "heading", "h2": "section"}
# Text inside these is not content.
_IGNORED = frozenset({"script", "style", "noscript", "template", "svg", "nav", "footer"})
# These end a paragraph of text.
_BREAKS = frozenset(
    {"p", "div", "br", "li", "tr", "td", "th", "section", "article", "h3", "h4", "h5", "h6", "dt"}
    | {"dd", "pre", "blockquote", "table", "ul", "ol", "header", "main", "hr"}
)


class _BlockParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[Block] = []
        self._pending: list[str] = []
        self._kind: BlockKind = "text"
        self._ignored_depth = 0

    def _flush(self) -> None:
        text = " ".join("".join(self._pending).split())
        if text:
            self.blocks.append(Block(self._kind, text))
        self._pending = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HEADING_KINDS:
            self._flush()
            self._kind = _HEADING_KINDS[tag]
        elif tag in _IGNORED:
            self._ignored_depth += 1
        elif tag in _BREAKS:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag in _HEADING_KINDS:
            self._flush()
            self._kind = "text"
        elif tag in _IGNORED:
            self._ignored_depth = max(0, self._ignored_depth - 1)
        elif tag in _BREAKS:
            self._flush()

    def handle_data(self, data: str) -> None:
        if self._ignored_depth == 0:
            self._pending.append(data)

    def close(self) -> None:
        super().close()
        self._flush()


def read_html(path: Path, limits: ReadLimits) -> list[Block]:
    text = decode_text(path.read_bytes())
    check_text_size(len(text), limits)
    parser = _BlockParser()
    parser.feed(text)
    parser.close()
    return parser.blocks
