"""Stop work for a client that has gone: a plain JSON request is cancelled when its client
disconnects, so a running generation (app.generators.local_jobs) stops at its next token.

Streaming responses need nothing of this: Starlette cancels the stream itself on disconnect.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from starlette.requests import Request

from app.errors import ClientDisconnected

T = TypeVar("T")


async def _disconnected(request: Request) -> None:
    # The body was read before the route ran; what the server passes on next is the disconnect.
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def cancel_on_disconnect(request: Request, work: Coroutine[Any, Any, T]) -> T:
    """`work`'s result, or `ClientDisconnected` (with `work` cancelled) once the client leaves.

    `work` runs in the calling task and one watcher task waits for the disconnect: a task and
    an `asyncio.wait` fewer per request than running `work` in a task of its own.
    """
    current = asyncio.current_task()
    assert current is not None
    working, cancelled_here = True, False

    def stop_work(watcher: asyncio.Future[None]) -> None:
        nonlocal cancelled_here
        # The watcher ends once the client has gone (or its receive failed): the work stops,
        # unless it is already over (this callback runs after the task has moved on).
        if working and not watcher.cancelled():
            cancelled_here = True
            current.cancel()

    watcher = asyncio.ensure_future(_disconnected(request))
    watcher.add_done_callback(stop_work)
    try:
        # The work's cleanup runs here, inside the await, before the cancellation surfaces.
        return await work
    except asyncio.CancelledError:
        if not cancelled_here or current.cancelling() > 1:  # cancelled from outside too
            raise
    finally:
        working = False
        watcher.cancel()
        if cancelled_here:
            current.uncancel()
    raise ClientDisconnected("the client closed the connection before the answer was ready")
