"""The one bounded thread pool that runs blocking SDK calls (boto3) off the event loop."""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import AsyncGenerator, Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from contextvars import ContextVar
from typing import Any, Generic, TypeVar

T = TypeVar("T")

DEFAULT_THREADS = 256

# The threads started for the backend call being made in this context (app.wiring.guards):
# a call cancelled by its deadline or its client leaves its thread blocked in the SDK, and the
# call's in-flight slot is held until that thread returns.
_started_threads: ContextVar[list[Future[Any]] | None] = ContextVar("started_threads", default=None)


class tracking_threads:
    """The pool threads started inside this block, to wait for after it.

    A class, not `@contextmanager`: it wraps every backend call, and a generator costs more.
    """

    def __init__(self) -> None:
        self.started: list[Future[Any]] = []

    def __enter__(self) -> list[Future[Any]]:
        self._token = _started_threads.set(self.started)
        return self.started

    def __exit__(self, *exc_info: object) -> None:
        _started_threads.reset(self._token)


class BlockingPool:
    """A fixed number of threads for blocking calls; more calls than threads wait their turn."""

    def __init__(self, max_threads: int = DEFAULT_THREADS, name: str = "fmt-blocking") -> None:
        self.max_threads = max_threads
        self._executor = ThreadPoolExecutor(max_workers=max_threads, thread_name_prefix=name)

    def start(self, function: Callable[..., T], *args: object) -> asyncio.Future[T]:
        """`function(*args)` started on a pool thread, as a future of the running loop."""
        loop = asyncio.get_running_loop()
        running = self._executor.submit(functools.partial(function, *args))
        started = _started_threads.get()
        if started is not None:
            started.append(running)
        return asyncio.wrap_future(running, loop=loop)

    async def run(self, function: Callable[..., T], *args: object) -> T:
        """`function(*args)` on a pool thread; the event loop keeps serving while it runs."""
        return await self.start(function, *args)

    def iterate(
        self, items: Iterable[T], close: Callable[[], None] | None = None
    ) -> AsyncGenerator[T, None]:
        """The items of a blocking iterable (an SDK event stream), pulled on a pool thread.

        `close` is called when the consumer stops early, so a thread blocked in a read returns.
        """
        return _ThreadedIteration(self, items, close).events()

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


class _Finished:
    """Marks the end of a threaded iteration."""


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


class _ThreadedIteration(Generic[T]):
    """Items cross from the pool thread to the event loop through an asyncio.Queue."""

    def __init__(
        self, pool: BlockingPool, items: Iterable[T], close: Callable[[], None] | None
    ) -> None:
        self._pool = pool
        self._items = items
        self._close = close
        self._stopped = threading.Event()
        self._queue: asyncio.Queue[T | _Finished | _Failed] = asyncio.Queue()

    def _hand_over(self, loop: asyncio.AbstractEventLoop, item: T | _Finished | _Failed) -> None:
        if self._stopped.is_set():
            return
        try:
            loop.call_soon_threadsafe(self._queue.put_nowait, item)
        except RuntimeError:  # the loop closed while this thread was reading
            self._stopped.set()

    def _pump(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            for item in self._items:
                if self._stopped.is_set():
                    return
                self._hand_over(loop, item)
            self._hand_over(loop, _Finished())
        except BaseException as error:  # handed to the consumer, which raises it
            self._hand_over(loop, _Failed(error))

    async def events(self) -> AsyncGenerator[T, None]:
        loop = asyncio.get_running_loop()
        pump = self._pool.start(self._pump, loop)
        try:
            while True:
                item = await self._queue.get()
                if isinstance(item, _Finished):
                    return
                if isinstance(item, _Failed):
                    raise item.error
                yield item
        finally:
            if not pump.done():
                self._stopped.set()
                if self._close is not None:
                    self._close()


_shared_pool: BlockingPool | None = None
_shared_lock = threading.Lock()


def shared_pool(max_threads: int = DEFAULT_THREADS) -> BlockingPool:
    """The process's pool, made on first use with `max_threads` (later sizes are ignored)."""
    global _shared_pool
    with _shared_lock:
        if _shared_pool is None:
            _shared_pool = BlockingPool(max_threads)
        return _shared_pool
