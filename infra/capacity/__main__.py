"""`python -m infra.capacity`: print the capacity table; `--write` also writes docs/capacity.md."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.settings import PROJECT_ROOT
from eval.cost import load_prices, load_usage
from infra.capacity.inputs import load_inputs
from infra.capacity.model import capacity_rows
from infra.capacity.report import endpoint_floor_lines, render

DATA = PROJECT_ROOT / "data"


def build_page(fleet: Path, prices: Path, usage: Path) -> str:
    inputs = load_inputs(fleet)
    price_table, assumptions = load_prices(prices), load_usage(usage)
    instance = assumptions.endpoint_instance_type
    floor = endpoint_floor_lines(
        instance,
        price_table.sagemaker_hosting_hour[instance],
        assumptions.endpoint_hours_per_month,
    )
    return render(inputs, capacity_rows(inputs), floor)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.capacity", description=__doc__)
    parser.add_argument("--fleet", type=Path, default=DATA / "fleet.json")
    parser.add_argument("--prices", type=Path, default=DATA / "prices.json")
    parser.add_argument("--usage", type=Path, default=DATA / "usage.json")
    parser.add_argument("--write", action="store_true", help="also write --out")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "docs" / "capacity.md")
    arguments = parser.parse_args(argv)
    page = build_page(arguments.fleet, arguments.prices, arguments.usage)
    print(page, end="")
    if arguments.write:
        arguments.out.write_text(page)
    return 0


if __name__ == "__main__":
    sys.exit(main())
