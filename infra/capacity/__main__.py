"""`python -m infra.capacity`: print the capacity table; `--write` also writes docs/capacity.md;
`python -m infra.capacity measure --url URL` measures a running replica into data/fleet.json."""

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


class MeasureCommand(BaseModel):
    """Measure a running service (loopback only) and write the replica's figures into the
    fleet file: a bounded mixed load of /rag, /finetuned and /hybrid (infra/capacity/measure.py).
    """

    model_config = SettingsConfigDict(
        cli_prog_name="python -m infra.capacity measure", cli_kebab_case=True
    )

    url: str = Field(description="The service, e.g. http://127.0.0.1:8000")
    replica: str = Field("embedded", description="Its entry in the fleet file.")
    fleet: Path = DATA / "fleet.json"
    questions: Path = DATA / "test" / "test.json"
    max_clients: int = Field(64, ge=1)
    requests_per_level: int = Field(48, ge=1)
    max_tokens: int = Field(128, ge=1)
    target_p95_s: float | None = Field(None, gt=0, description="Default: the fleet file's.")


def _measure(argv: list[str]) -> int:
    import asyncio
    import json
    import os

    from infra.capacity.measure import MeasureError, measure, record_measurement

    command = CliApp.run(MeasureCommand, cli_args=argv)
    target = command.target_p95_s or load_inputs(command.fleet).target_p95_s
    questions = [item["question"] for item in json.loads(command.questions.read_text())]
    try:
        result = asyncio.run(
            measure(
                command.url,
                questions,
                target,
                command.max_clients,
                command.requests_per_level,
                command.max_tokens,
                os.environ.get("FMT_CAPACITY_API_KEY"),
            )
        )
        written = record_measurement(command.fleet, command.replica, command.url, result)
    except MeasureError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for level in result.levels:
        print(
            f"{level.clients:>3} clients: {level.requests_per_s:8.2f} requests/s, "
            f"p50 {level.p50_s:.2f} s, p95 {level.p95_s:.2f} s, {level.failures} failed"
        )
    print(
        f"{command.replica}: {written['sustained_requests_per_s']} requests/s sustained at "
        f"p95 <= {target:g} s, written to {command.fleet}"
    )
    return 0


class CapacityCommand(BaseModel):
    """Print the capacity table; `--write` also writes docs/capacity.md."""

    model_config = SettingsConfigDict(cli_prog_name="python -m infra.capacity", cli_kebab_case=True)

    fleet: Path = DATA / "fleet.json"
    prices: Path = DATA / "prices.json"
    usage: Path = DATA / "usage.json"
    write: CliImplicitFlag[bool] = Field(False, description="also write --out")
    out: Path = PROJECT_ROOT / "docs" / "capacity.md"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["measure"]:
        return _measure(argv[1:])
    command = CliApp.run(CapacityCommand, cli_args=argv)
    page = build_page(command.fleet, command.prices, command.usage)
    print(page, end="")
    if command.write:
        command.out.write_text(page)
    return 0


if __name__ == "__main__":
    sys.exit(main())
