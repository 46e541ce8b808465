"""A server that trickles or never stops cannot hang the runner or fill its memory.

Each test runs a real HTTP server on 127.0.0.1 (asyncio streams, no framework) that answers
the way a broken deployment or a hostile proxy would.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from eval.client import ServiceClient
from eval.settings import HttpSettings

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
HEADERS = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"


async def _read_request(reader: asyncio.StreamReader) -> None:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        ),
        0,
    )
    await reader.readexactly(length)


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Handler], Awaitable[str]]]:
    servers: list[asyncio.Server] = []
    handlers: set[asyncio.Task[None]] = set()

    async def start(handler: Handler) -> str:
        async def tracked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            handlers.add(task)
            await handler(reader, writer)

        server = await asyncio.start_server(tracked, "127.0.0.1", 0)
        servers.append(server)
        port = server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    yield start
    for server in servers:
        server.close()
    for task in handlers:
        task.cancel()
    await asyncio.gather(*handlers, return_exceptions=True)


async def _trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Headers promise a body, which then comes one byte at a time, each well within any
    per-read timeout, and never ends."""
    await _read_request(reader)
    writer.write(HEADERS + b"Content-Length: 100000\r\n\r\n")
    try:
        while True:
            writer.write(b" ")
            await writer.drain()
            await asyncio.sleep(0.01)
    except (ConnectionError, asyncio.CancelledError):
        writer.close()


async def _endless(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A chunked body that never ends, as fast as the client reads."""
    await _read_request(reader)
    writer.write(HEADERS + b"Transfer-Encoding: chunked\r\n\r\n")
    chunk = b"x" * 65536
    try:
        while True:
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        writer.close()


async def _huge_declared(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _read_request(reader)
    writer.write(HEADERS + b"Content-Length: 999999999\r\n\r\n{")
    await writer.drain()
    writer.close()


def _client(url: str, **settings: float) -> ServiceClient:
    http_settings = HttpSettings(backoff_base_s=0.01, backoff_max_s=0.01, **settings)  # type: ignore[arg-type]
    http = httpx.AsyncClient(base_url=url, timeout=httpx.Timeout(30.0))
    return ServiceClient(http, http_settings)


async def test_a_trickling_reply_is_cut_at_the_total_deadline(
    serve: Callable[[Handler], Awaitable[str]],
) -> None:
    client = _client(await serve(_trickle), timeout_s=0.3, max_attempts=2)
    outcome = await asyncio.wait_for(client.answer("rag", {"question": "q"}), timeout=30)
    await client.client.aclose()
    assert outcome.response is None and outcome.attempts == 2  # a timeout is retried
    assert outcome.error is not None and "deadline" in outcome.error


async def test_an_endless_reply_stops_at_the_size_cap(
    serve: Callable[[Handler], Awaitable[str]],
) -> None:
    cap = 1024 * 1024
    client = _client(await serve(_endless), max_reply_bytes=cap, max_attempts=3)
    outcome = await asyncio.wait_for(client.answer("rag", {"question": "q"}), timeout=30)
    await client.client.aclose()
    assert outcome.response is None and outcome.attempts == 1  # not retried: it would recur
    assert outcome.error is not None and f"{cap}-byte cap" in outcome.error


async def test_a_declared_oversize_reply_is_refused_before_reading(
    serve: Callable[[Handler], Awaitable[str]],
) -> None:
    client = _client(await serve(_huge_declared), max_reply_bytes=4096)
    outcome = await asyncio.wait_for(client.answer("rag", {"question": "q"}), timeout=30)
    await client.client.aclose()
    assert outcome.error is not None and "999999999 bytes" in outcome.error


async def test_ready_does_not_hang_on_a_trickling_server(
    serve: Callable[[Handler], Awaitable[str]],
) -> None:
    from eval.client import ServiceNotReady

    client = _client(await serve(_trickle), timeout_s=0.2, ready_timeout_s=0.5)
    with pytest.raises(ServiceNotReady, match="deadline"):
        await asyncio.wait_for(client.wait_ready(), timeout=30)
    await client.client.aclose()
