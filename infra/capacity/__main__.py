"""`python -m infra.capacity`: print the capacity table; `--write` also writes docs/capacity.md."""

from __future__ import annotations

import sys
from pathlib import Path

from pydantic import BaseModel, Field
from pydantic_settings import CliApp, CliImplicitFlag, SettingsConfigDict

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


class CapacityCommand(BaseModel):
    """Print the capacity table; `--write` also writes docs/capacity.md."""

    model_config = SettingsConfigDict(cli_prog_name="python -m infra.capacity", cli_kebab_case=True)

    fleet: Path = DATA / "fleet.json"
    prices: Path = DATA / "prices.json"
    usage: Path = DATA / "usage.json"
    write: CliImplicitFlag[bool] = Field(False, description="also write --out")
    out: Path = PROJECT_ROOT / "docs" / "capacity.md"


def main(argv: list[str] | None = None) -> int:
    command = CliApp.run(CapacityCommand, cli_args=argv if argv is not None else sys.argv[1:])
    page = build_page(command.fleet, command.prices, command.usage)
    print(page, end="")
    if command.write:
        command.out.write_text(page)
    return 0


if __name__ == "__main__":
    sys.exit(main())
