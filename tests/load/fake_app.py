"""`uvicorn --factory tests.load.fake_app:create_fake_app`: the real app on fake backends that
answer after a small random delay and sometimes fail, for load and shutdown tests.

FAKE_MAX_DELAY_S (default 0.02) bounds the random delay of each backend call, FAKE_MIN_DELAY_S
(default 0) is its floor, FAKE_FAILURE_RATE (default 0.05) is the chance a call fails; the
service itself reads the usual FMT_* settings.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Sequence
from dataclasses import dataclass

from fastapi import FastAPI

from app.core.errors import BackendError, BackendThrottled, BackendTimeout, BackendUnavailable
from app.core.types import ChatMessage, Passage
from app.main import create_app
from app.settings import Settings
from app.wiring.compose import Backends
from app.wiring.fakes import FailurePlan, FakeGenerator, FakeRetriever

PASSAGES = [
    Passage("p1", "Kestrel KX-420 Hydraulic Press", "The KX-420 runs at 210 bar.", 0.9, "kb#1"),
    Passage("p2", "Orion W-90 Welder", "Set the W-90 wire feed to 7.5 m/min.", 0.5, "kb#2"),
]
FAULTS = (
    lambda: BackendTimeout("fake: no answer within the deadline"),
    lambda: BackendThrottled("fake: ThrottlingException", retry_after_s=1.0),
    lambda: BackendUnavailable("fake: connection refused"),
    lambda: BackendError("fake: malformed reply"),
)


def random_failures(rate: float) -> FailurePlan:
    def plan(_call: int) -> Exception | None:
        return random.choice(FAULTS)() if random.random() < rate else None

    return plan


@dataclass
class JitteryGenerator(FakeGenerator):
    """A FakeGenerator whose every call first waits a random time in [min_delay_s, max_delay_s]."""

    min_delay_s: float = 0.0
    max_delay_s: float = 0.0

    async def _begin(self, messages: Sequence[ChatMessage]) -> str:
        await asyncio.sleep(random.uniform(self.min_delay_s, self.max_delay_s))
        return await super()._begin(messages)


def create_fake_app() -> FastAPI:
    min_delay_s = float(os.environ.get("FAKE_MIN_DELAY_S", "0"))
    max_delay_s = max(min_delay_s, float(os.environ.get("FAKE_MAX_DELAY_S", "0.02")))
    failure_rate = float(os.environ.get("FAKE_FAILURE_RATE", "0.05"))
    settings = Settings(_env_file=None)  # type: ignore[call-arg]

    def generator(model_id: str) -> JitteryGenerator:
        return JitteryGenerator(
            answer="The KX-420 runs at 210 bar.",
            model_id=model_id,
            failures=random_failures(failure_rate),
            min_delay_s=min_delay_s,
            max_delay_s=max_delay_s,
        )

    retriever = FakeRetriever(
        PASSAGES, delay_s=max_delay_s / 4, failures=random_failures(failure_rate / 2)
    )
    backends = Backends(retriever, generator("fake-base"), generator("fake-tuned"))
    return create_app(settings, backends=backends)
