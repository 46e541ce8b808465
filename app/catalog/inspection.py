"""How a catalog was understood, as a report: files, products, sections, chunks and warnings."""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field

from app.catalog.chunking import ChunkSizes, chunk_sections, merge_small_sections
from app.catalog.model import Catalog, Chunk, Section
from app.core.token_count import estimate_text_tokens


@dataclass(frozen=True, slots=True)
class ProductSummary:
    name: str
    sources: list[str]
    sections: list[str]
    chunks: int


@dataclass(slots=True)
class CatalogReport:
    products: list[ProductSummary]
    chunk_tokens: list[int]
    files_read: list[str]
    warnings: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The report as text for a terminal."""
        out = [f"files read: {len(self.files_read)}"]
        out += [f"  {source}" for source in self.files_read]
        out.append(f"products: {len(self.products)}")
        for product in self.products:
            titles = ", ".join(title or "(untitled)" for title in product.sections)
            out.append(
                f"  {product.name}  [{', '.join(product.sources)}]  "
                f"{len(product.sections)} sections, {product.chunks} chunks: {titles}"
            )
        if self.chunk_tokens:
            out.append(
                f"chunks: {len(self.chunk_tokens)}, tokens min {min(self.chunk_tokens)} / "
                f"median {statistics.median(self.chunk_tokens):g} / max {max(self.chunk_tokens)}"
            )
        out.append(f"warnings: {len(self.warnings)}")
        out += [f"  {warning}" for warning in self.warnings]
        return out


def _summaries(sections: list[Section], chunks: list[Chunk]) -> list[ProductSummary]:
    sources: dict[str, list[str]] = defaultdict(list)
    titles: dict[str, list[str]] = defaultdict(list)
    for section in sections:
        if section.source not in sources[section.product]:
            sources[section.product].append(section.source)
        if section.title not in titles[section.product]:  # a section cut at a page break
            titles[section.product].append(section.title)
    counts: dict[str, int] = defaultdict(int)
    for chunk in chunks:
        counts[chunk.product] += 1
    return [ProductSummary(name, sources[name], titles[name], counts[name]) for name in sources]


def inspect_catalog(catalog: Catalog, sizes: ChunkSizes) -> CatalogReport:
    """What the index would hold, and what a user should look at before indexing."""
    chunks = chunk_sections(catalog.sections, sizes)
    report = CatalogReport(
        products=_summaries(
            merge_small_sections(catalog.sections, sizes.min_section_words), chunks
        ),
        chunk_tokens=[estimate_text_tokens(chunk.text) for chunk in chunks],
        files_read=[document.source for document in catalog.documents],
    )
    report.warnings += [f"skipped {item.source}: {item.reason}" for item in catalog.skipped]
    for product in report.products:
        texts = [s.text for s in catalog.sections if s.product == product.name]
        words = sum(len(text.split()) for text in texts)
        if words < sizes.min_section_words:
            report.warnings.append(
                f"product {product.name!r} has only {words} words of text "
                f"({', '.join(product.sources)})"
            )
    return report
