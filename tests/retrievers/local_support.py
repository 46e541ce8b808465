"""Helpers for the local retriever tests: a tiny catalog and a fast stand-in for MiniLM."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from app.retrievers.local_index import Vectors
from app.settings import Settings

TINY_CATALOG = """\
=== PRODUCT: Kestrel KX-420 Hydraulic Press ===
--- Safety Instructions ---
Lower the ram onto the red safety blocks KX-SB-300 before any work under it. Wait 5 minutes
for the accumulator to bleed down and check that gauge PG2 reads 0 bar.
--- Operation Instructions ---
Fault E-21 means set pressure was not reached within 8 s, usually a worn pump.

=== PRODUCT: Brantley BW-350 MIG Welder ===
--- Safety Instructions ---
Wear an auto-darkening helmet with shade 11 to 13, and shade 12 or darker above 250 A.
Remove combustibles within 11 m of the work and keep a fire watch for 30 minutes.
--- Configuration Manual ---
For aluminium wire fit the U-groove drive rolls BW-DR12U and set the tension scale to 1.5.

=== PRODUCT: Vantor VP-65 Centrifugal Process Pump ===
--- Operation Instructions ---
Never run the pump dry or against a closed discharge valve for more than 30 seconds.
Tighten the impeller nut to 95 N·m; it has a left-hand thread.
"""

_WORD = re.compile(r"[a-z0-9]+")


class HashingEncoder:
    """Bag of hashed words in 64 dimensions: lexical, deterministic, and instant."""

    def __init__(self, identity: str = "hashing-64") -> None:
        self.identity = identity
        self.calls = 0

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> Vectors:
        self.calls += 1
        vectors = np.zeros((len(texts), 64), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in _WORD.findall(text.lower()):
                vectors[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % 64] += 1.0
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return np.asarray(vectors / np.where(norms == 0, 1.0, norms), dtype=np.float32)


def write_tiny_catalog(folder: Path) -> Path:
    """The tiny catalog as one file in `folder`; returns the file."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "catalog.txt"
    path.write_text(TINY_CATALOG, encoding="utf-8")
    return path


def tiny_settings(tmp_path: Path, **retrieval: object) -> Settings:
    """Settings that index the tiny catalog into tmp_path, nothing from the environment."""
    catalog = write_tiny_catalog(tmp_path / "kb")
    options: dict[str, object] = {"chunk_tokens": 50, "chunk_overlap_percent": 20}
    options.update(retrieval)
    options["index_dir"] = tmp_path / "index"
    return Settings(_env_file=None, catalog=catalog, retrieval=options)
