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
    """`work`'s result, or `ClientDisconnected` (with `work` cancelled) once the client leaves."""
    task = asyncio.ensure_future(work)
    watcher = asyncio.ensure_future(_disconnected(request))
    try:
        await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        watcher.cancel()
        if not task.done():
            task.cancel()
            # cancel() only asks: the task is cancelled once it has run its cleanup (a local
            # generation stops at its next token), and only then does it hold an outcome.
            await asyncio.wait({task})
    if task.cancelled():
        raise ClientDisconnected("the client closed the connection before the answer was ready")
    return task.result()
