"""A fleet simulated request by request: Poisson arrivals, round-robin over tasks, each task
holding `concurrency` requests at once; what a client waits at the computed task count."""

from __future__ import annotations

import heapq
import math
import random
from dataclasses import dataclass

from infra.capacity.inputs import Replica, SimulationSettings


@dataclass(frozen=True)
class SimulatedLoad:
    p95_s: float
    queued_share: float


def simulate(
    replica: Replica, rate: float, tasks: int, settings: SimulationSettings
) -> SimulatedLoad:
    """Every request takes a lognormal time whose mean is the replica's measured time at full
    concurrency (latency x wall factor) once a slot of its task is free; the ALB sends requests
    to tasks in turn."""
    generator = random.Random(settings.seed)
    mean_s = replica.latency_s * replica.wall_factor
    sigma = math.sqrt(math.log(1 + settings.service_time_cv**2))
    mu = math.log(mean_s) - sigma**2 / 2
    free_at = [[0.0] * replica.concurrency for _ in range(tasks)]
    clock, target = 0.0, 0
    responses: list[float] = []
    queued = 0
    while True:
        clock += generator.expovariate(rate)
        if clock > settings.seconds:
            break
        service_s = generator.lognormvariate(mu, sigma)
        slots = free_at[target]
        start = max(clock, heapq.heappop(slots))
        heapq.heappush(slots, start + service_s)
        queued += start > clock
        responses.append(start + service_s - clock)
        target = (target + 1) % tasks
    responses.sort()
    p95 = responses[min(len(responses) - 1, int(0.95 * len(responses)))] if responses else 0.0
    return SimulatedLoad(p95, queued / len(responses) if responses else 0.0)
