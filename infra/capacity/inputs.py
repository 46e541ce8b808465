"""The capacity model's inputs (`data/fleet.json`): measured replicas and the fleet's prices."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, Field, model_validator


class FleetPrices(BaseModel):
    """On-demand prices of what the service stack runs (not the backends: `python -m eval cost`)."""

    fargate_vcpu_hour: float = Field(ge=0)
    fargate_gb_hour: float = Field(ge=0)
    alb_hour: float = Field(ge=0)
    alb_lcu_hour: float = Field(ge=0)
    alb_new_connections_per_lcu: float = Field(gt=0)
    nat_gateway_hour: float = Field(ge=0)
    nat_gateways: int = Field(ge=0)
    waf_web_acl_month: float = Field(ge=0)
    waf_rule_month: float = Field(ge=0)
    waf_rules: int = Field(ge=0)
    waf_requests_per_million: float = Field(ge=0)


class MeasuredFigures(BaseModel):
    """What `python -m infra.capacity measure` found for a replica on a real service."""

    sustained_requests_per_s: float = Field(ge=0)
    clients: int = Field(ge=0)
    p95_s: float = Field(ge=0)
    target_p95_s: float = Field(gt=0)
    date: str
    machine: str
    url: str
    mix: str
    levels: list[dict[str, float]] = Field(default_factory=list)


class Replica(BaseModel):
    """One task's measured behaviour: how many requests it holds at once and for how long."""

    name: str
    description: str
    vcpu: float = Field(gt=0)
    memory_gb: float = Field(gt=0)
    concurrency: int = Field(ge=1, description="Requests one task answers at the same time.")
    ttft_s: float = Field(0.0, ge=0, description="Time to first token.")
    output_tokens: int = Field(0, ge=0)
    decode_tokens_per_s: float | None = Field(None, gt=0)
    backend_latency_s: float | None = Field(None, gt=0)
    wall_factor: float = Field(
        1.0, ge=1.0, description="Measured wall time over the ideal at full concurrency."
    )
    cpu_requests_per_s: float | None = Field(
        None, gt=0, description="Requests/s one worker's CPU allows on instant backends."
    )
    source: str
    measured: MeasuredFigures | None = Field(
        None, description="Written by `python -m infra.capacity measure`; replaces the typed rate."
    )

    @model_validator(mode="after")
    def _one_latency(self) -> Replica:
        if (self.decode_tokens_per_s is None) == (self.backend_latency_s is None):
            raise ValueError(
                f"replica {self.name}: give decode_tokens_per_s (local generation) "
                "or backend_latency_s (a remote backend), not both"
            )
        return self

    @property
    def latency_s(self) -> float:
        """Seconds one request holds a slot."""
        if self.decode_tokens_per_s is not None:
            return self.ttft_s + self.output_tokens / self.decode_tokens_per_s
        assert self.backend_latency_s is not None
        return self.ttft_s + self.backend_latency_s


class SimulationSettings(BaseModel):
    """How long a load is simulated, and the seed that makes the page reproducible."""

    seconds: float = Field(gt=0)
    seed: int
    service_time_cv: float = Field(
        ge=0, description="Standard deviation of one request's time over its mean (lognormal)."
    )
    note: str = ""


class FleetInputs(BaseModel):
    currency: str = "USD"
    region: str
    as_of: str
    hours_per_month: float = Field(gt=0)
    target_utilization: float = Field(gt=0, le=1)
    target_p95_s: float = Field(
        10.0,
        gt=0,
        description="The p95 a measured task must keep (the fleet's alarm, "
        "FMT_INFRA_SERVICE__ALARMS__P95_LATENCY_S).",
    )
    min_tasks: int = Field(ge=1)
    request_rates: list[float] = Field(min_length=1)
    simulation: SimulationSettings
    prices: FleetPrices
    replicas: list[Replica] = Field(min_length=1)


def load_inputs(path: Path) -> FleetInputs:
    return FleetInputs.model_validate(json.loads(path.read_text()))
