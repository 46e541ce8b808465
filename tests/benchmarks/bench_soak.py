"""(6) Soak: thousands of mixed requests against the real embedded default (see soak.py)."""

from __future__ import annotations

from tests.benchmarks.soak import NAME, run

__all__ = ["NAME", "run"]
