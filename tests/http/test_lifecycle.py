"""Start-up: backends load in the background; /ready and the strategies say so until they do."""

from __future__ import annotations

import asyncio
import threading

import httpx

from app.main import create_app
from app.settings import Settings
from app.wiring.compose import Backends
from app.wiring.fakes import FakeGenerator, FakeRetriever
from tests.conftest import SAMPLE_PASSAGES


async def test_ready_is_503_until_backends_load_then_200(settings: Settings) -> None:
    release = threading.Event()

    def slow_builder(settings: Settings) -> Backends:
        release.wait(5)
        return Backends(FakeRetriever(SAMPLE_PASSAGES), FakeGenerator(), FakeGenerator())

    app = create_app(settings, builder=slow_builder)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://t") as client,
    ):
        assert (await client.get("/health")).status_code == 200
        not_ready = await client.get("/ready")
        assert not_ready.status_code == 503
        early = await client.post("/rag", json={"question": "q"})
        assert early.status_code == 503
        assert early.json()["error"]["code"] == "not_ready"
        assert early.headers["retry-after"] == "5"

        release.set()
        for _ in range(100):
            if (await client.get("/ready")).status_code == 200:
                break
            await asyncio.sleep(0.02)
        assert (await client.get("/ready")).status_code == 200
        assert (await client.post("/rag", json={"question": "q"})).status_code == 200


async def test_failed_start_up_is_reported_not_hidden(settings: Settings) -> None:
    def broken_builder(settings: Settings) -> Backends:
        raise FileNotFoundError("no adapter for this catalog; run make finetune")

    app = create_app(settings, builder=broken_builder)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://t") as client,
    ):
        for _ in range(100):
            body = (await client.get("/ready")).json()
            if body["detail"] != "loading":
                break
            await asyncio.sleep(0.02)
        assert "run make finetune" in body["detail"]  # loopback, no keys: the operator
        answer = await client.post("/rag", json={"question": "q"})
        assert answer.status_code == 503
        assert answer.json()["error"]["code"] == "not_ready"
        assert "/ready" in answer.json()["error"]["message"]  # where to read why


SECRET = "AccessDenied for arn:aws:iam::123456789012:role/fm-tailor"


async def _ready_after_failed_start(settings: Settings, **request: object) -> httpx.Response:
    def broken_builder(settings: Settings) -> Backends:
        raise PermissionError(SECRET)

    app = create_app(settings, builder=broken_builder)
    client_address = request.pop("client", ("127.0.0.1", 5000))
    transport = httpx.ASGITransport(app=app, client=client_address)  # type: ignore[arg-type]
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://t") as client,
    ):
        for _ in range(100):
            await asyncio.sleep(0.02)
            response = await client.get("/ready", **request)  # type: ignore[arg-type]
            if app.state.service.startup_error is not None:
                return response
    raise AssertionError("start-up never failed")


async def test_ready_hides_start_up_details_from_anonymous_remote_callers() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    response = await _ready_after_failed_start(settings, client=("203.0.113.5", 5000))

    assert response.status_code == 503
    assert response.json()["ready"] is False
    assert "123456789012" not in response.text


async def test_ready_shows_start_up_details_to_a_caller_with_a_key() -> None:
    from app.http.auth import digest_of

    settings = Settings(_env_file=None, api_keys=[digest_of("ready-key")])  # type: ignore[call-arg]
    anonymous = await _ready_after_failed_start(settings)
    with_key = await _ready_after_failed_start(
        settings, headers={"Authorization": "Bearer ready-key"}
    )

    assert anonymous.status_code == with_key.status_code == 503
    assert "123456789012" not in anonymous.text
    assert SECRET in with_key.json()["detail"]
