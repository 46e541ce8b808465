"""The capacity table: computed from data/, and docs/capacity.md is exactly what it prints."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from app.settings import PROJECT_ROOT
from infra.capacity.__main__ import build_page, main
from infra.capacity.inputs import FleetInputs, load_inputs
from infra.capacity.model import capacity_rows, requests_per_task, tasks_for
from infra.capacity.simulation import simulate

DATA = PROJECT_ROOT / "data"


def fleet(**changes: Any) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((DATA / "fleet.json").read_text())
    loaded.update(changes)
    return loaded


def test_the_capacity_page_is_what_the_command_prints() -> None:
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main([]) == 0
    assert (PROJECT_ROOT / "docs" / "capacity.md").read_text() == printed.getvalue(), (
        "docs/capacity.md is stale: run `make capacity`"
    )


def test_write_puts_the_page_where_asked(tmp_path: Path) -> None:
    out = tmp_path / "capacity.md"
    with contextlib.redirect_stdout(io.StringIO()):
        main(["--write", "--out", str(out)])
    assert out.read_text().startswith("# Capacity of the service fleet")


def test_tasks_grow_with_load_and_never_drop_below_the_minimum() -> None:
    inputs = load_inputs(DATA / "fleet.json")
    rows = capacity_rows(inputs)
    for replica in inputs.replicas:
        mine = [row for row in rows if row.replica == replica.name]
        assert [row.rate for row in mine] == inputs.request_rates
        assert all(row.tasks >= inputs.min_tasks for row in mine)
        assert [row.tasks for row in mine] == sorted(row.tasks for row in mine)
        assert all(row.tasks * row.requests_per_task >= row.rate for row in mine)
        assert [row.monthly for row in mine] == sorted(row.monthly for row in mine)


def test_a_replica_waiting_on_the_network_outserves_one_generating_locally() -> None:
    inputs = load_inputs(DATA / "fleet.json")
    per_task = {r.name: requests_per_task(r, inputs.target_utilization) for r in inputs.replicas}
    # 1 answer at a time taking seconds of CPU, against 256 in flight waiting on AWS.
    assert per_task["aws-backed"] > 100 * per_task["embedded"]


def test_a_slower_backend_needs_more_tasks(tmp_path: Path) -> None:
    data = fleet()
    before = capacity_rows(FleetInputs.model_validate(data))
    for replica in data["replicas"]:
        if replica["name"] == "aws-backed":
            replica["backend_latency_s"] *= 4
    after = capacity_rows(FleetInputs.model_validate(data))
    assert after[-1].tasks > before[-1].tasks


def test_prices_come_from_the_editable_files(tmp_path: Path) -> None:
    data = fleet()
    data["prices"]["fargate_vcpu_hour"] *= 2
    edited = tmp_path / "fleet.json"
    edited.write_text(json.dumps(data))
    usual = build_page(DATA / "fleet.json", DATA / "prices.json", DATA / "usage.json")
    dearer = build_page(edited, DATA / "prices.json", DATA / "usage.json")
    assert usual != dearer
    assert "| 1 (variant or component) | 5,105 |" in usual  # 7.09 USD/h x 720 h


def test_a_replica_needs_exactly_one_kind_of_latency() -> None:
    data = fleet()
    data["replicas"][0]["backend_latency_s"] = 1.0
    with pytest.raises(ValidationError, match="not both"):
        FleetInputs.model_validate(data)


def test_the_simulation_queues_when_the_fleet_is_short_of_tasks() -> None:
    inputs = load_inputs(DATA / "fleet.json")
    (embedded,) = [r for r in inputs.replicas if r.name == "embedded"]
    per_task = requests_per_task(embedded, inputs.target_utilization)
    enough = tasks_for(10, per_task, inputs.min_tasks)
    at_target = simulate(embedded, 10, enough, inputs.simulation)
    short = simulate(embedded, 10, enough // 2, inputs.simulation)
    # Half the tasks run above 100 %: requests pile up and the wait grows through the run.
    assert short.queued_share > 0.5 > 0.2 > at_target.queued_share
    assert short.p95_s > 3 * at_target.p95_s
    assert simulate(embedded, 10, enough, inputs.simulation) == at_target  # seeded


def test_measure_finds_what_a_real_service_sustains_and_the_page_says_it_was_measured(
    tmp_path: Path,
) -> None:
    from infra.capacity.__main__ import main as capacity_main
    from tests.load.server import running_server

    fleet_file = tmp_path / "fleet.json"
    fleet_file.write_text(json.dumps(fleet()), encoding="utf-8")
    # Each backend call waits 50 ms: a task whose answers take ~0.1 s, so many clients fit in
    # a 2 s p95 until the two cores of this machine run out.
    environment = {
        "FMT_LOG_LEVEL": "WARNING",
        "FMT_LIMITS__RATE_LIMIT_PER_MINUTE": "0",
        "FAKE_MIN_DELAY_S": "0.05",
        "FAKE_MAX_DELAY_S": "0.05",
        "FAKE_FAILURE_RATE": "0",
    }
    with running_server(environment, tmp_path / "server.log") as server:
        code = capacity_main(
            ["measure", "--url", server.url, "--fleet", str(fleet_file), "--replica",
             "aws-backed", "--max-clients", "8", "--requests-per-level", "24",
             "--target-p95-s", "2"]
        )  # fmt: skip
    assert code == 0

    written = json.loads(fleet_file.read_text())
    measured = next(r for r in written["replicas"] if r["name"] == "aws-backed")["measured"]
    levels = measured["levels"]
    assert [level["clients"] for level in levels][:2] == [1, 2]
    assert sum(level["requests"] for level in levels) <= 24 * 4  # bounded: at most 4 levels
    assert measured["sustained_requests_per_s"] > 0
    assert measured["p95_s"] <= 2
    assert measured["url"] == server.url and measured["machine"] and measured["date"]
    # Every answer waits 50 ms on its generator: one client gets fewer than 20 a second.
    assert levels[0]["requests_per_s"] < 20

    inputs = load_inputs(fleet_file)
    (aws,) = [r for r in inputs.replicas if r.name == "aws-backed"]
    assert requests_per_task(aws, inputs.target_utilization) == pytest.approx(
        measured["sustained_requests_per_s"] * inputs.target_utilization
    )
    page = build_page(
        fleet_file, PROJECT_ROOT / "data/prices.json", PROJECT_ROOT / "data/usage.json"
    )
    assert "**Measured**" in page and "**Assumed**" in page  # embedded stays typed


def test_measure_refuses_a_service_that_is_not_on_this_machine(tmp_path: Path) -> None:
    from infra.capacity.__main__ import main as capacity_main

    fleet_file = tmp_path / "fleet.json"
    fleet_file.write_text(json.dumps(fleet()), encoding="utf-8")
    code = capacity_main(["measure", "--url", "http://192.0.2.10:8000", "--fleet", str(fleet_file)])
    assert code == 2
    assert '"measured"' not in fleet_file.read_text()
