"""A JSON request whose client leaves is cancelled and reported as 499, never as a 500."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from starlette.requests import Request

from app.core.errors import ClientDisconnected
from app.http.disconnect import cancel_on_disconnect


def _request_that_disconnects(after_s: float) -> Request:
    async def receive() -> dict[str, Any]:
        await asyncio.sleep(after_s)
        return {"type": "http.disconnect"}

    return Request({"type": "http", "method": "POST", "headers": []}, receive)


async def test_a_client_that_leaves_cancels_the_work_and_gets_client_disconnected() -> None:
    cleaned_up = asyncio.Event()

    async def work() -> str:
        try:
            await asyncio.sleep(30)
        finally:
            cleaned_up.set()
        return "never"

    with pytest.raises(ClientDisconnected):
        await cancel_on_disconnect(_request_that_disconnects(0.01), work())
    assert cleaned_up.is_set()  # the work ran its cleanup before the route returned


async def test_work_that_finishes_first_returns_its_result() -> None:
    async def work() -> str:
        return "answer"

    assert await cancel_on_disconnect(_request_that_disconnects(5), work()) == "answer"


async def test_an_error_of_the_work_is_raised_as_it_is() -> None:
    async def work() -> str:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        await cancel_on_disconnect(_request_that_disconnects(5), work())


async def test_work_cancelled_from_outside_stays_cancelled() -> None:
    started = asyncio.Event()

    async def work() -> str:
        started.set()
        await asyncio.sleep(30)
        return "never"

    call = asyncio.ensure_future(cancel_on_disconnect(_request_that_disconnects(30), work()))
    await started.wait()
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call


async def test_the_calling_task_is_not_left_cancelling_after_a_disconnect() -> None:
    async def work() -> str:
        await asyncio.sleep(30)
        return "never"

    with pytest.raises(ClientDisconnected):
        await cancel_on_disconnect(_request_that_disconnects(0.01), work())
    current = asyncio.current_task()
    assert current is not None and current.cancelling() == 0
    await asyncio.sleep(0)  # a later await is not cancelled
