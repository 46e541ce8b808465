"""A JSON request whose client leaves is cancelled and reported as 499, never as a 500."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from starlette.requests import Request

from app.errors import ClientDisconnected
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
