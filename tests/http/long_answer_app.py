"""`tests.http.long_answer_app:create_long_answer_app`: the real app on fake backends whose
streamed answer (4 MB) is far more than a socket's buffers hold, for slow-client tests."""

from __future__ import annotations

from fastapi import FastAPI

from app.main import create_app
from app.settings import Settings
from app.wiring.compose import Backends
from app.wiring.fakes import FakeGenerator, FakeRetriever
from tests.load.fake_app import PASSAGES

LONG_ANSWER = " ".join(["x" * 1000] * 4000)


def create_long_answer_app() -> FastAPI:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    backends = Backends(
        FakeRetriever(PASSAGES),
        FakeGenerator(answer=LONG_ANSWER, model_id="fake-base"),
        FakeGenerator(answer=LONG_ANSWER, model_id="fake-tuned"),
    )
    return create_app(settings, backends=backends)
