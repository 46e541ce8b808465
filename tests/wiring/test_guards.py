"""A backend's circuit counts only the backend's own time: a stream whose reader stalled past
the generation deadline is not a backend timeout against its circuit (issue 27)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass

import pytest

from app.core.errors import BackendTimeout
from app.core.observability import Metrics
from app.core.types import ChatMessage
from app.generators.base import GenerationEvent, GenerationParams, TextDelta
from app.settings import Settings
from app.wiring.fakes import FakeGenerator
from app.wiring.guards import BackendGuard, GuardedGenerator

DEADLINE_S = 1.0
STALL_S = 1.5
PARAMS = GenerationParams(max_tokens=8, temperature=0.0)


@dataclass
class DeadlineGenerator(FakeGenerator):
    """Streams words, each before a deadline counted from the call (as the real backends do);
    `own_delay_s` is the time the backend itself takes before its second word."""

    own_delay_s: float = 0.0

    async def stream(
        self, messages: Sequence[ChatMessage], params: GenerationParams
    ) -> AsyncGenerator[GenerationEvent, None]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DEADLINE_S
        yield TextDelta("210")
        await asyncio.sleep(self.own_delay_s)
        if loop.time() > deadline:
            raise BackendTimeout("deadline: stream not finished within the deadline")
        yield TextDelta(" bar")


def guarded(inner: DeadlineGenerator) -> GuardedGenerator:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        circuit={"failure_threshold": 1},
        generation={"timeout_s": DEADLINE_S},
    )
    return GuardedGenerator(inner, BackendGuard("base", settings, Metrics()))


async def read_slowly(generator: GuardedGenerator) -> None:
    async for _ in generator.stream([ChatMessage("user", "q")], PARAMS):
        await asyncio.sleep(STALL_S)  # a client that stopped reading for a while


async def test_a_deadline_passed_while_the_reader_stalled_is_not_the_backends() -> None:
    generator = guarded(DeadlineGenerator())

    with pytest.raises(BackendTimeout):
        await read_slowly(generator)

    assert generator.guard.state == "closed"
    assert generator.guard.in_flight.in_flight == 0


async def test_a_backend_slower_than_its_deadline_still_counts() -> None:
    generator = guarded(DeadlineGenerator(own_delay_s=STALL_S))

    with pytest.raises(BackendTimeout):
        async for _ in generator.stream([ChatMessage("user", "q")], PARAMS):
            pass

    assert generator.guard.state == "open"
