"""The bounded pool for blocking SDK calls: the loop keeps serving, the bound holds."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator, Sequence

import pytest

from app.core.observability import Metrics
from app.core.types import ChatMessage
from app.generators.base import Generation, GenerationParams
from app.resilience.blocking import BlockingPool
from app.settings import Settings
from app.wiring.fakes import FakeGenerator
from app.wiring.guards import BackendGuard, GuardedGenerator


async def _count_ticks(stop: asyncio.Event) -> int:
    ticks = 0
    while not stop.is_set():
        await asyncio.sleep(0.01)
        ticks += 1
    return ticks


async def test_blocking_calls_leave_the_event_loop_free() -> None:
    pool = BlockingPool(4)
    stop = asyncio.Event()
    ticker = asyncio.create_task(_count_ticks(stop))

    await asyncio.gather(*(pool.run(time.sleep, 0.3) for _ in range(4)))
    stop.set()

    # A blocked loop would have ticked about once; a free one every 10 ms.
    assert await ticker >= 10
    pool.shutdown()


async def test_calls_beyond_the_pool_size_wait_for_a_thread() -> None:
    pool = BlockingPool(2)
    started = time.perf_counter()

    await asyncio.gather(*(pool.run(time.sleep, 0.2) for _ in range(4)))

    assert time.perf_counter() - started >= 0.39
    pool.shutdown()


async def test_iterate_hands_items_over_in_order_and_raises_the_iterators_error() -> None:
    pool = BlockingPool(2)

    def items() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("stream broke")

    received = []
    with pytest.raises(ValueError, match="stream broke"):
        async for item in pool.iterate(items()):
            received.append(item)

    assert received == [1, 2]
    pool.shutdown()


async def test_stopping_early_closes_the_blocking_stream() -> None:
    pool = BlockingPool(2)
    closed = threading.Event()

    def endless() -> Iterator[int]:
        number = 0
        while not closed.is_set():
            number += 1
            time.sleep(0.01)
            yield number

    events = pool.iterate(endless(), close=closed.set)
    async for item in events:
        if item == 3:
            break
    await events.aclose()

    assert closed.wait(1.0)
    pool.shutdown()


async def test_a_cancelled_blocking_call_holds_its_in_flight_slot_until_its_thread_returns() -> (
    None
):
    pool = BlockingPool(max_threads=2)
    released = threading.Event()

    class BlockingGenerator(FakeGenerator):
        async def generate(
            self, messages: Sequence[ChatMessage], params: GenerationParams
        ) -> Generation:
            await pool.run(released.wait, 5.0)  # an SDK call that outlives its caller
            return await super().generate(messages, params)

    guard = BackendGuard("base", Settings(_env_file=None), Metrics())  # type: ignore[call-arg]
    generator = GuardedGenerator(BlockingGenerator(), guard)

    with pytest.raises(TimeoutError):  # the deadline (or the client) gives up on it
        await asyncio.wait_for(generator.generate([], GenerationParams(10, 0.0)), 0.05)
    assert guard.in_flight.in_flight == 1  # its thread is still in the SDK

    released.set()
    for _ in range(100):
        if guard.in_flight.in_flight == 0:
            break
        await asyncio.sleep(0.01)
    assert guard.in_flight.in_flight == 0
    pool.shutdown()
