"""Structured logs (JSON or text, with the request id), Prometheus metrics, the request record."""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from app.core.request_id import current_request_id
from app.settings import Settings

# Generation can take a minute on a slow backend; the default buckets stop at 10 s.
LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_LOG_RECORD_FIELDS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class Metrics:
    """The Prometheus metrics of one app, in a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self.requests = Counter(
            "fmt_http_requests",
            "HTTP requests answered.",
            ["route", "method", "status"],
            registry=registry,
        )
        self.request_seconds = Histogram(
            "fmt_http_request_duration_seconds",
            "Time to answer a request.",
            ["route"],
            buckets=LATENCY_BUCKETS_S,
            registry=registry,
        )
        # A plain count read at scrape time: no lock taken twice per request.
        self.requests_in_flight = 0
        Gauge(
            "fmt_http_requests_in_flight", "Requests being answered.", registry=registry
        ).set_function(lambda: self.requests_in_flight)
        self.stage_seconds = Histogram(
            "fmt_stage_duration_seconds",
            "Time in one stage of a strategy.",
            ["strategy", "stage"],
            buckets=LATENCY_BUCKETS_S,
            registry=registry,
        )
        self.backend_errors = Counter(
            "fmt_backend_errors",
            "Failed backend calls by kind.",
            ["backend", "kind"],
            registry=registry,
        )
        self.tokens = Counter(
            "fmt_tokens",
            "Tokens sent to and received from generators.",
            ["strategy", "direction"],
            registry=registry,
        )
        self.circuit_state = Gauge(
            "fmt_circuit_state",
            "Circuit of a backend: 0 closed, 1 half-open, 2 open.",
            ["backend"],
            registry=registry,
        )
        self._request_children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        self._stage_children: dict[tuple[str, str], Histogram] = {}
        self._token_children: dict[str, tuple[Counter, Counter]] = {}

    # Looking up a labelled child takes a lock and a tuple of strings; on the request path the
    # children are kept by label after their first use.
    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, status)
        children = self._request_children.get(key)
        if children is None:
            children = self._request_children[key] = (
                self.requests.labels(route, method, str(status)),
                self.request_seconds.labels(route),
            )
        children[0].inc()
        children[1].observe(seconds)

    def observe_stage(self, strategy: str, stage: str, seconds: float) -> None:
        key = (strategy, stage)
        child = self._stage_children.get(key)
        if child is None:
            child = self._stage_children[key] = self.stage_seconds.labels(strategy, stage)
        child.observe(seconds)

    def count_tokens(self, strategy: str, input_tokens: int, output_tokens: int) -> None:
        children = self._token_children.get(strategy)
        if children is None:
            children = self._token_children[strategy] = (
                self.tokens.labels(strategy, "input"),
                self.tokens.labels(strategy, "output"),
            )
        children[0].inc(input_tokens)
        children[1].inc(output_tokens)


@dataclass(slots=True)
class RequestRecord:
    """What the backend calls of one request add to its access log line."""

    stages_ms: dict[str, float] = field(default_factory=dict)
    backends: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, int] = field(default_factory=dict)
    backend_errors: list[str] = field(default_factory=list)
    prompts: list[str] = field(default_factory=list)

    def fields(self) -> dict[str, Any]:
        found = {
            "stages_ms": self.stages_ms,
            "backends": self.backends,
            "tokens": self.tokens,
            "backend_errors": self.backend_errors,
            "prompts": self.prompts,
        }
        return {name: value for name, value in found.items() if value}


current_record: ContextVar[RequestRecord | None] = ContextVar("current_record", default=None)


class RequestIdFilter(logging.Filter):
    """Adds the id of the request being answered ('-' outside one) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id and the extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, value in vars(record).items():
            if name not in _LOG_RECORD_FIELDS and not name.startswith("_"):
                payload[name] = value
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str, ensure_ascii=False)


class _StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever sys.stderr is at the time (test runners swap it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        return None


def configure_logging(settings: Settings, logger_name: str = "app") -> None:
    """One handler on the service's logger, replaced (not added) when an app is created again."""
    logger = logging.getLogger(logger_name)
    for handler in [h for h in logger.handlers if isinstance(h, _StderrHandler)]:
        logger.removeHandler(handler)
    handler = _StderrHandler()
    handler.addFilter(RequestIdFilter())
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        text = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
        handler.setFormatter(logging.Formatter(text))
    logger.addHandler(handler)
    logger.setLevel(settings.log_level.upper())
