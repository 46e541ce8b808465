"""Waiting for /ready: patient while loading, quick to give up when loading failed."""

from __future__ import annotations

import httpx
import pytest

from eval.client import ServiceClient, ServiceNotReady
from eval.settings import HttpSettings

READY = {
    "ready": True,
    "backends": {"retriever": "local:x", "generator": "local", "tuned_generator": "local",
                 "models": {"base": "b", "tuned": "t"}},
}  # fmt: skip


def client_answering(*bodies: tuple[int, dict[str, object]]) -> tuple[ServiceClient, list[int]]:
    calls: list[int] = []
    replies = list(bodies)

    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        status, body = replies.pop(0) if len(replies) > 1 else replies[0]
        return httpx.Response(status, json=body)

    http = httpx.AsyncClient(transport=httpx.MockTransport(handle), base_url="http://s.test")
    return ServiceClient(http, HttpSettings(ready_timeout_s=5)), calls


async def test_waits_while_the_service_loads() -> None:
    loading = (503, {"ready": False, "detail": "loading"})
    client, calls = client_answering(loading, loading, (200, READY))
    ready = await client.wait_ready()
    assert ready.backends is not None and ready.backends.models["tuned"] == "t"
    assert len(calls) == 3


async def test_gives_up_at_once_when_backends_failed() -> None:
    failed = (503, {"ready": False, "detail": "backends failed to load: no adapter"})
    client, calls = client_answering(failed)
    with pytest.raises(ServiceNotReady, match="no adapter"):
        await client.wait_ready()
    assert len(calls) == 1
