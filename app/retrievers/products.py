"""The catalog's product lexicon: names, model codes, aliases, and which products a text names."""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from app.catalog import CatalogError, read_sections
from app.catalog.naming import product_key
from app.settings import DocumentSettings

logger = logging.getLogger(__name__)

# A model code as catalogs write it: letters, an optional hyphen or space, digits ("KX-420",
# "TL-1600", "SC-12", "LS-3015"); the letters are capitals in the product's name.
_CODE = re.compile(r"\b([A-Z]{1,4})[- ]?(\d{1,5}[A-Z]?)\b")
# A product's kind alone ("the lathe") names it only after one of these words: "drive" or "arm"
# alone is too often another word ("the drive belt" aside, "how do I arm it?").
_DETERMINERS = ("the", "this", "that", "my", "our", "your", "its")
# A kind word shorter than this is left out: too often part of something else.
_MIN_KIND_LETTERS = 4


@dataclass(frozen=True, slots=True)
class _Alias:
    key: str
    """The alias as `product_key` writes it, between spaces: " kx 420 "."""
    product: str


def model_code(product: str) -> str | None:
    """The product's model code as its name writes it ("KX-420"), or None when it has none."""
    code = _CODE.search(product)
    return code.group(0) if code is not None else None


def _code_keys(name: str) -> list[str]:
    """Each model code in the name, as "kx 420" and "kx420"."""
    keys = []
    for letters, digits in _CODE.findall(name):
        keys.extend([f"{letters} {digits}".casefold(), f"{letters}{digits}".casefold()])
    return keys


def _candidate_aliases(name: str) -> list[tuple[str, bool]]:
    """Aliases of one product name, each marked True when only a determiner makes it a name:
    the whole name, its codes, the brand before the code, the words after it and their endings
    ("drill press"), the last word."""
    words = product_key(name).split()
    aliases: list[tuple[str, bool]] = [(" ".join(words), False)]
    aliases.extend((code, False) for code in _code_keys(name))
    code_match = _CODE.search(name)
    if code_match is not None:
        before = product_key(name[: code_match.start()])
        after = product_key(name[code_match.end() :])
        if before:
            aliases.append((before, False))
        kind = after.split()
        # "geared drill press", "drill press", then "press" alone (after a determiner).
        aliases.extend((" ".join(kind[start:]), False) for start in range(len(kind) - 1))
        if kind:
            aliases.append((kind[-1], True))
    elif len(words) > 1:
        aliases.append((words[-1], True))
    return [(alias, kind_only) for alias, kind_only in aliases if alias]


class ProductLexicon:
    """The products of a catalog and the names a customer calls them by.

    An alias that two products share ("sensor" for two sensors) names neither of them; a bare
    kind word ("lathe") counts only after a determiner ("the lathe", "my lathe").
    """

    def __init__(self, products: Iterable[str]) -> None:
        self.products: tuple[str, ...] = tuple(dict.fromkeys(p for p in products if p.strip()))
        owners: dict[str, set[str]] = defaultdict(set)
        kind_only: dict[str, bool] = {}
        for product in self.products:
            for alias, only_kind in _candidate_aliases(product):
                owners[alias].add(product)
                kind_only[alias] = kind_only.get(alias, True) and only_kind
        aliases: list[_Alias] = []
        for alias, named in owners.items():
            if len(named) > 1 or (kind_only[alias] and len(alias) < _MIN_KIND_LETTERS):
                continue
            (product,) = named
            if kind_only[alias]:
                keys = [f" {determiner} {alias} " for determiner in _DETERMINERS]
            else:
                keys = [f" {alias} "]
            aliases.extend(_Alias(key, product) for key in keys)
        # Longest first, so "drill press" is found before "press" would be.
        self._aliases = sorted(aliases, key=lambda alias: -len(alias.key))

    def short_name(self, product: str) -> str:
        """The product's model code as its name writes it ("KX-420"), else its name."""
        return model_code(product) or product

    def __bool__(self) -> bool:
        return bool(self.products)

    def named_in(self, text: str) -> list[str]:
        """The products the text names, in the order they first appear in it."""
        haystack = f" {product_key(text)} "
        found: dict[str, int] = {}
        for alias in self._aliases:
            position = haystack.find(alias.key)
            if position >= 0 and position < found.get(alias.product, len(haystack)):
                found[alias.product] = position
        return sorted(found, key=found.__getitem__)


def catalog_products(catalog: Path, settings: DocumentSettings) -> tuple[str, ...]:
    """The product names of the catalog at `catalog`, in catalog order; none when there is no
    readable catalog here (a Knowledge Base's documents may live only in S3)."""
    if not catalog.exists():
        return ()
    try:
        sections = read_sections(catalog, settings)
    except CatalogError as error:
        logger.warning("no product lexicon: %s", error)
        return ()
    return tuple(dict.fromkeys(section.product for section in sections))
