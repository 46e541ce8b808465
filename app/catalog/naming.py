"""Whether a source's title names a product: the one rule the hit-rate measures share."""

from __future__ import annotations

import re

_NOT_WORD = re.compile(r"[\W_]+")


def product_key(name: str) -> str:
    """The name without case, punctuation or spacing ("KX-420 press" is "kx 420 Press")."""
    return " ".join(_NOT_WORD.sub(" ", name.casefold()).split())


def names_product(title: str, product: str) -> bool:
    """True when the title is the product's name, or holds it ("Kestrel KX-420 Hydraulic Press |
    Corvane" names "Kestrel KX-420 Hydraulic Press")."""
    wanted, got = product_key(product), product_key(title)
    return bool(wanted) and (got == wanted or f" {wanted} " in f" {got} ")
