"""Requests per second a task sustains, tasks for a load, and what the fleet costs a month."""

from __future__ import annotations

import math
from dataclasses import dataclass

from infra.capacity.inputs import FleetInputs, FleetPrices, Replica
from infra.capacity.simulation import simulate

SECONDS_PER_HOUR = 3600


def requests_per_task(replica: Replica, target_utilization: float) -> float:
    """What one task sustains at the autoscaling target: its measured rate where it was
    measured; else the lower of its concurrency over the time a request holds it, and its CPU
    on instant backends."""
    if replica.measured is not None:
        return replica.measured.sustained_requests_per_s * target_utilization
    by_concurrency = replica.concurrency / (replica.latency_s * replica.wall_factor)
    by_cpu = replica.cpu_requests_per_s if replica.cpu_requests_per_s is not None else math.inf
    return min(by_concurrency, by_cpu) * target_utilization


def tasks_for(rate: float, per_task: float, min_tasks: int) -> int:
    return max(min_tasks, math.ceil(rate / per_task))


def fleet_monthly_cost(
    rate: float, tasks: int, replica: Replica, prices: FleetPrices, hours: float
) -> float:
    """Tasks, load balancer (hours and LCUs, a new connection per request at worst), NAT
    gateways and WAF (ACL, rules, requests)."""
    task_hour = replica.vcpu * prices.fargate_vcpu_hour + replica.memory_gb * prices.fargate_gb_hour
    lcus = rate / prices.alb_new_connections_per_lcu
    load_balancer = (prices.alb_hour + lcus * prices.alb_lcu_hour) * hours
    nat = prices.nat_gateways * prices.nat_gateway_hour * hours
    requests_millions = rate * SECONDS_PER_HOUR * hours / 1_000_000
    waf = (
        prices.waf_web_acl_month
        + prices.waf_rules * prices.waf_rule_month
        + requests_millions * prices.waf_requests_per_million
    )
    return tasks * task_hour * hours + load_balancer + nat + waf


@dataclass(frozen=True)
class CapacityRow:
    replica: str
    requests_per_task: float
    rate: float
    tasks: int
    monthly: float
    simulated_p95_s: float
    queued_share: float


def capacity_rows(inputs: FleetInputs) -> list[CapacityRow]:
    rows = []
    for replica in inputs.replicas:
        per_task = requests_per_task(replica, inputs.target_utilization)
        for rate in inputs.request_rates:
            tasks = tasks_for(rate, per_task, inputs.min_tasks)
            cost = fleet_monthly_cost(rate, tasks, replica, inputs.prices, inputs.hours_per_month)
            load = simulate(replica, rate, tasks, inputs.simulation)
            rows.append(
                CapacityRow(
                    replica.name, per_task, rate, tasks, cost, load.p95_s, load.queued_share
                )
            )
    return rows
