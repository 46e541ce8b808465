"""A live service on fake backends and a headless Chromium, for the playground's browser tests."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import AsyncGenerator, Iterator, Sequence
from pathlib import Path

import pytest
import uvicorn

from app.core.types import ChatMessage
from app.generators.base import GenerationEvent, GenerationParams, TextDelta
from app.main import create_app
from app.settings import ContextSettings, Settings
from app.wiring.compose import Backends
from app.wiring.fakes import FakeGenerator, FakeRetriever
from tests.conftest import SAMPLE_PASSAGES

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class TricklingGenerator(FakeGenerator):
    """A fake that streams one word every `word_delay_s`, so the page is seen mid-stream."""

    word_delay_s: float = 0.08

    async def stream(
        self, messages: Sequence[ChatMessage], params: GenerationParams
    ) -> AsyncGenerator[GenerationEvent, None]:
        async for event in super().stream(messages, params):
            if isinstance(event, TextDelta):
                await asyncio.sleep(self.word_delay_s)
            yield event


BASE_ANSWER = (
    "The Kestrel KX-420 runs at a maximum system pressure of 21 MPa (210 bar), "
    "with the relief valve factory sealed at 22.5 MPa."
)
TUNED_ANSWER = "The KX-420 hydraulic press works at 210 bar, its maximum system pressure."


class LiveServer:
    """Uvicorn serving the app in a thread on an ephemeral 127.0.0.1 port."""

    def __init__(self, settings: Settings) -> None:
        backends = Backends(
            FakeRetriever(SAMPLE_PASSAGES, delay_s=0.05),
            TricklingGenerator(answer=BASE_ANSWER, delay_s=0.2, model_id="fake-base"),
            TricklingGenerator(answer=TUNED_ANSWER, delay_s=0.3, model_id="fake-tuned"),
        )
        app = create_app(settings, backends=backends)
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        config = uvicorn.Config(app, log_level="warning", lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def __enter__(self) -> LiveServer:
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *_: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()


@pytest.fixture
def live_server(settings: Settings) -> Iterator[LiveServer]:
    # Whole passages, so every retrieved passage is quoted and shown as a source (with sentence
    # selection only the passages whose sentences were kept are: see tests/http/test_context_api).
    whole_passages = settings.model_copy(update={"context": ContextSettings(selection=False)})
    with LiveServer(whole_passages) as server:
        yield server


@pytest.fixture
def chromium() -> Path:
    if not CHROMIUM.exists():
        pytest.skip(
            f"{CHROMIUM} is not installed: `apt-get install -y chromium` "
            "(or `make browser` as root) to run the playground's browser test"
        )
    return CHROMIUM
