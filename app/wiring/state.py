"""The typed state of one application: what the lifespan builds and the routes read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.requests import HTTPConnection

from app.core.observability import Metrics
from app.resilience.rate_limit import RateLimiter
from app.settings import Settings
from app.strategies.table import StrategySpec
from app.wiring.compose import Composition


@dataclass(slots=True)
class ServiceState:
    """Settings, metrics and limits from the start; the composed backends once they are loaded
    (or why they failed to load)."""

    settings: Settings
    metrics: Metrics
    rate_limiter: RateLimiter | None
    table: Sequence[StrategySpec]
    # Invalid API keys per client address (a guessing client is slowed down); None: no keys.
    failed_auth: RateLimiter | None = None
    composition: Composition | None = None
    startup_error: str | None = None


def attach_state(app: Starlette, state: ServiceState) -> None:
    app.state.service = state


def service_state(connection: HTTPConnection) -> ServiceState:
    """The state of the app serving this request."""
    state = connection.app.state.service
    assert isinstance(state, ServiceState)
    return state
