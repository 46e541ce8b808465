"""Stop work for a client that has gone: a plain JSON request is cancelled when its client
disconnects, so a running generation (app.generators.local_jobs) stops at its next token.

Streaming responses need nothing of this: Starlette cancels the stream itself on disconnect.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from starlette.requests import Request

from app.core.errors import ClientDisconnected

T = TypeVar("T")


async def _disconnected(request: Request) -> None:
    # The body was read before the route ran; what the server passes on next is the disconnect.
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def cancel_on_disconnect(request: Request, work: Coroutine[Any, Any, T]) -> T:
    """`work`'s result, or `ClientDisconnected` (with `work` cancelled) once the client leaves.

    `work` runs in the calling task. A watcher task waits for the disconnect, started once
    `work` first waits on something: work that finishes without waiting (nothing to watch for)
    costs no task.
    """
    current = asyncio.current_task()
    assert current is not None
    working, cancelled_here = True, False
    watcher: asyncio.Future[None] | None = None

    def stop_work(finished: asyncio.Future[None]) -> None:
        nonlocal cancelled_here
        # The watcher ends once the client has gone (or its receive failed): the work stops,
        # unless it is already over (this callback runs after the task has moved on).
        if working and not finished.cancelled():
            cancelled_here = True
            current.cancel()

    def watch() -> None:
        nonlocal watcher
        watcher = asyncio.ensure_future(_disconnected(request))
        watcher.add_done_callback(stop_work)

    # Runs at the loop's next turn, which comes only once the work waits.
    starting = asyncio.get_running_loop().call_soon(watch)
    try:
        # The work's cleanup runs here, inside the await, before the cancellation surfaces.
        return await work
    except asyncio.CancelledError:
        if not cancelled_here or current.cancelling() > 1:  # cancelled from outside too
            raise
    finally:
        working = False
        starting.cancel()
        if watcher is not None:
            watcher.cancel()
        if cancelled_here:
            current.uncancel()
    raise ClientDisconnected("the client closed the connection before the answer was ready")
