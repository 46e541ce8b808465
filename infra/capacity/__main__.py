"""`python -m infra.capacity`: print the capacity table; `--write` also writes docs/capacity.md;
`python -m infra.capacity measure --url URL` measures a running replica into data/fleet.json."""

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


def _measure(argv: list[str]) -> int:
    import asyncio
    import json
    import os

    from infra.capacity.measure import MeasureError, measure, record_measurement

    parser = argparse.ArgumentParser(
        prog="python -m infra.capacity measure",
        description="Measure a running service (loopback only) and write the replica's figures "
        "into the fleet file.",
    )
    parser.add_argument("--url", required=True, help="e.g. http://127.0.0.1:8000")
    parser.add_argument("--replica", default="embedded", help="its entry in the fleet file")
    parser.add_argument("--fleet", type=Path, default=DATA / "fleet.json")
    parser.add_argument("--questions", type=Path, default=DATA / "test" / "test.json")
    parser.add_argument("--max-clients", type=int, default=64)
    parser.add_argument("--requests-per-level", type=int, default=48)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--target-p95-s", type=float, help="default: the fleet file's")
    arguments = parser.parse_args(argv)
    inputs = load_inputs(arguments.fleet)
    target = arguments.target_p95_s or inputs.target_p95_s
    questions = [item["question"] for item in json.loads(arguments.questions.read_text())]
    try:
        result = asyncio.run(
            measure(
                arguments.url,
                questions,
                target,
                arguments.max_clients,
                arguments.requests_per_level,
                arguments.max_tokens,
                os.environ.get("FMT_CAPACITY_API_KEY"),
            )
        )
        written = record_measurement(arguments.fleet, arguments.replica, arguments.url, result)
    except MeasureError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for level in result.levels:
        print(
            f"{level.clients:>3} clients: {level.requests_per_s:8.2f} requests/s, "
            f"p50 {level.p50_s:.2f} s, p95 {level.p95_s:.2f} s, {level.failures} failed"
        )
    print(
        f"{arguments.replica}: {written['sustained_requests_per_s']} requests/s sustained at "
        f"p95 <= {target:g} s, written to {arguments.fleet}"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["measure"]:
        return _measure(argv[1:])
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
