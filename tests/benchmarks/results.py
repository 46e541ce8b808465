"""What a benchmark measures, the table printed from it, and the JSON file it is kept in."""

from __future__ import annotations

import json
import os
import platform
import sys
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class Measurement:
    """One figure; `met` is None where the figure has no target or could not be measured."""

    benchmark: str
    metric: str
    value: float | None
    unit: str
    target: str = ""
    met: bool | None = None
    note: str = ""

    def shown(self) -> str:
        if self.value is None:
            return self.note or "n/a"
        size = abs(self.value)
        digits = 2 if size < 10 else 1 if size < 1000 else 0
        return f"{self.value:,.{digits}f} {self.unit}".rstrip()


def percentile(values: list[float], fraction: float) -> float:
    """The value below which `fraction` of the values lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def verdict(met: bool | None) -> str:
    return {True: "yes", False: "NO", None: ""}[met]


def table(measurements: list[Measurement]) -> str:
    """A Markdown table, readable in a terminal and pasted as is into docs/performance.md."""
    rows = [("benchmark", "metric", "measured", "target", "met")]
    rows += [(m.benchmark, m.metric, m.shown(), m.target, verdict(m.met)) for m in measurements]
    widths = [max(len(row[column]) for row in rows) for column in range(5)]

    def line(row: tuple[str, ...]) -> str:
        return (
            "| "
            + " | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
            + " |"
        )

    separator = "|" + "|".join("-" * (width + 2) for width in widths) + "|"
    return "\n".join([line(rows[0]), separator, *(line(row) for row in rows[1:])])


def machine() -> dict[str, Any]:
    """What the figures were measured on; a busy machine explains a slow figure."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "cpus": os.cpu_count(),
        "load_average_at_start": load,
        "platform": platform.platform(),
        "python": sys.version.split()[0],
    }


def write_results(
    path: Path, measurements: list[Measurement], quick: bool, context: dict[str, Any]
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": quick,
        "machine": context,
        "measurements": [asdict(measurement) for measurement in measurements],
    }
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
