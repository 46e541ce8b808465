"""Shared fixtures: a small test set, the real app on fake backends, and runner settings."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from app.core.types import ChatMessage, Passage
from app.main import create_app
from app.settings import LimitSettings, Settings
from app.wiring.compose import Backends
from app.wiring.fakes import FailurePlan, FakeGenerator, FakeRetriever, never_fail
from eval.settings import PROJECT_ROOT, EvalSettings, HttpSettings

PRODUCTS = ("MANUFLEX 9000", "MAPROTECH X5000", "MANUMAX 5000")


def catalog_questions(products: Sequence[str]) -> tuple[list[dict[str, object]], list[Passage]]:
    """Two questions per product, and one passage per product that states both facts."""
    questions = [
        {
            "product_name": product,
            "question": f"What is the rated {what} of the {product}?",
            "answer": f"The {product} is rated at {value} for {what}.",
            "section": "Specifications",
            "must_mention": [value],
        }
        for product in products
        for what, value in (("pressure", "210 bar"), ("voltage", "400 V"))
    ]
    passages = [
        Passage(
            id=f"p{number}",
            title=product,
            text=f"The {product} is rated at 210 bar pressure and 400 V voltage.",
            score=1.0,
            location=f"catalog.txt#{product}",
            section="Specifications",
        )
        for number, product in enumerate(products)
    ]
    return questions, passages


# Six products, twelve questions: enough for a paired test to tell a change from noise after
# Holm's correction (six questions cannot: 2/64 is the smallest two-sided p-value).
MORE_PRODUCTS = (*PRODUCTS, "KESTREL KX-420", "TORVIK TL-1600", "VANTOR VP-65")


QUESTIONS, PASSAGES = catalog_questions(PRODUCTS)


def echo_context(messages: Sequence[ChatMessage]) -> str:
    """A 'good' generator: repeats the passage it was given, so RAG answers are on topic."""
    lines = messages[-1].content.split("\n")
    if "Catalog excerpt:" not in lines:
        return "I am not sure about that."
    return lines[lines.index("Catalog excerpt:") + 1]


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No hub access, no FMT_* settings from the shell (a judge or API key set there must not
    leak in), and `eval.cli.main`'s own setdefault leaves nothing behind after a test."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    for name in [name for name in os.environ if name.startswith("FMT_")]:
        monkeypatch.delenv(name)


@pytest.fixture
def testset(tmp_path: Path) -> Path:
    path = tmp_path / "test.json"
    path.write_text(json.dumps(QUESTIONS), encoding="utf-8")
    return path


def fake_app(
    delay_s: float = 0.0,
    base_failures: FailurePlan = never_fail,
    tuned_failures: FailurePlan = never_fail,
    rate_limit_per_minute: float = 0.0,
    burst: int = 30,
    tuned_model_id: str = "fake-tuned",
    passages: Sequence[Passage] = PASSAGES,
    base_answer: str | Callable[[Sequence[ChatMessage]], str] = echo_context,
    tuned_finish_reason: str = "stop",
) -> FastAPI:
    """The real app on fake backends; its per-client rate limit is off unless asked for.
    The base generator repeats its first passage unless `base_answer` says otherwise."""
    limits = LimitSettings(rate_limit_per_minute=rate_limit_per_minute, burst=burst)
    settings = Settings(_env_file=None, limits=limits)  # type: ignore[call-arg]
    backends = Backends(
        FakeRetriever(list(passages)),
        FakeGenerator(answer=base_answer, delay_s=delay_s, failures=base_failures),
        FakeGenerator(
            answer="It is rated at 100 units.",
            delay_s=delay_s,
            failures=tuned_failures,
            model_id=tuned_model_id,
            finish_reason=tuned_finish_reason,
        ),
    )
    return create_app(settings, backends=backends)


@pytest.fixture
def make_settings(testset: Path, tmp_path: Path) -> Callable[..., EvalSettings]:
    def make(**changes: object) -> EvalSettings:
        base = EvalSettings(
            url="http://service.test",
            testset=testset,
            out=tmp_path / "out",
            prices=PROJECT_ROOT / "data" / "prices.json",
            usage=PROJECT_ROOT / "data" / "usage.json",
            http=HttpSettings(
                concurrency=4, backoff_base_s=0.01, backoff_max_s=0.05, ready_timeout_s=2
            ),
        )
        bert = base.bertscore.model_copy(update={"enabled": False})
        statistics = base.statistics.model_copy(update={"resamples": 500})
        return base.model_copy(update={"bertscore": bert, "statistics": statistics, **changes})

    return make


def asgi(app: FastAPI) -> httpx.ASGITransport:
    return httpx.ASGITransport(app=app)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def live_server() -> Iterator[Callable[[FastAPI], str]]:
    """Serves an app with uvicorn on 127.0.0.1 in a thread; yields a starter returning its URL."""
    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(app: FastAPI) -> str:
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("test server did not start")
            time.sleep(0.02)
        servers.append((server, thread))
        return f"http://127.0.0.1:{port}"

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(timeout=5)
