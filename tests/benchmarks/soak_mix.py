"""The soak's request mix (valid but heavy, malformed, disconnecting) and the tally of answers."""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from app.http.schemas import AnswerRequest
from tests.benchmarks.results import percentile

Kind = Literal["valid", "malformed", "disconnect"]
KINDS: tuple[Kind, ...] = ("valid", "malformed", "disconnect")
STRATEGY_PATHS = ("/rag", "/finetuned", "/hybrid")
JSON = "application/json"
_QUESTION_SCHEMA: dict[str, Any] = AnswerRequest.model_json_schema()["properties"]
# The limits a client reads from the schema (and the playground offers): a soak uses the largest.
QUESTION_MAX_CHARS: int = _QUESTION_SCHEMA["question"]["anyOf"][0]["maxLength"]
TOP_K_MAX: int = _QUESTION_SCHEMA["top_k"]["anyOf"][0]["maximum"]


@dataclass(frozen=True, slots=True)
class MixShape:
    """How many requests of each kind, and how heavy a valid one is."""

    weights: dict[Kind, float]
    max_tokens: tuple[int, int] = (8, 64)
    top_k: tuple[int, int] = (5, TOP_K_MAX)
    long_question_share: float = 0.5
    stream_share: float = 0.5
    disconnect_after_s: tuple[float, float] = (0.05, 1.5)
    max_body_bytes: int = 65536


@dataclass(frozen=True, slots=True)
class SoakRequest:
    kind: Kind
    label: str
    path: str
    body: bytes
    content_type: str = JSON
    stream: bool = False
    disconnect_after_s: float | None = None


def long_question(questions: Sequence[str], rng: random.Random) -> str:
    """Real questions joined until the text is close to the schema's maximum length."""
    target = rng.randint(int(QUESTION_MAX_CHARS * 0.85), QUESTION_MAX_CHARS)
    text = rng.choice(questions)
    while len(text) < target:
        text = f"{text} {rng.choice(questions)}"
    return text[:target].rstrip()


def valid_request(questions: Sequence[str], shape: MixShape, rng: random.Random) -> SoakRequest:
    path = rng.choice((*STRATEGY_PATHS, "/compare"))
    long = rng.random() < shape.long_question_share
    question = long_question(questions, rng) if long else rng.choice(questions)
    stream = path != "/compare" and rng.random() < shape.stream_share
    body = {
        "question": question,
        "top_k": rng.randint(*shape.top_k),
        "max_tokens": rng.randint(*shape.max_tokens),
        "stream": stream,
    }
    label = f"{path} {'sse' if stream else 'json'}{' long' if long else ''}"
    return SoakRequest("valid", label, path, json.dumps(body).encode(), stream=stream)


def malformed_request(shape: MixShape, rng: random.Random) -> SoakRequest:
    """A request a client gets wrong: every one must get a 4xx, none may reach a backend."""
    path = rng.choice((*STRATEGY_PATHS, "/compare"))
    too_long = "x" * (QUESTION_MAX_CHARS + 1)
    huge = json.dumps({"question": "y" * (shape.max_body_bytes + 1024)}).encode()
    cases: list[tuple[str, bytes, str]] = [
        ("bad json", b'{"question": "What pressure?",', JSON),
        ("empty body", b"", JSON),
        ("not an object", b'["What pressure?"]', JSON),
        ("question not a string", b'{"question": 42}', JSON),
        ("top_k as string", b'{"question": "What pressure?", "top_k": "5"}', JSON),
        ("stream as number", b'{"question": "What pressure?", "stream": 0}', JSON),
        ("top_k out of range", b'{"question": "What pressure?", "top_k": 1000}', JSON),
        ("max_tokens out of range", b'{"question": "What pressure?", "max_tokens": 0}', JSON),
        ("temperature out of range", b'{"question": "What pressure?", "temperature": 9}', JSON),
        ("empty question", b'{"question": ""}', JSON),
        ("question too long", json.dumps({"question": too_long}).encode(), JSON),
        ("unknown field", b'{"question": "What pressure?", "prompt": "x"}', JSON),
        ("huge body", huge, JSON),
        ("wrong content type", b"question=What+pressure", "application/x-www-form-urlencoded"),
        ("text body", b"What pressure?", "text/plain"),
    ]
    label, body, content_type = rng.choice(cases)
    return SoakRequest("malformed", label, path, body, content_type)


def disconnecting_request(
    questions: Sequence[str], shape: MixShape, rng: random.Random
) -> SoakRequest:
    """A valid request whose client goes away after a short random delay."""
    valid = valid_request(questions, shape, rng)
    return SoakRequest(
        "disconnect",
        f"{valid.path} {'sse' if valid.stream else 'json'}",
        valid.path,
        valid.body,
        stream=valid.stream,
        disconnect_after_s=rng.uniform(*shape.disconnect_after_s),
    )


def build_mix(
    count: int, questions: Sequence[str], shape: MixShape, seed: int
) -> list[SoakRequest]:
    """`count` requests drawn by the shape's weights, in a shuffled, reproducible order."""
    rng = random.Random(seed)
    kinds = rng.choices(KINDS, weights=[shape.weights.get(kind, 0.0) for kind in KINDS], k=count)
    requests: list[SoakRequest] = []
    for kind in kinds:
        if kind == "valid":
            requests.append(valid_request(questions, shape, rng))
        elif kind == "malformed":
            requests.append(malformed_request(shape, rng))
        else:
            requests.append(disconnecting_request(questions, shape, rng))
    return requests


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one request got. `status` None: no response (the client hung up or the connection
    failed); `stream_end` is the last SSE event ('done', 'error') or None when the stream was cut;
    `failures` lists what went wrong inside a 200 (an SSE `error` event, a /compare error)."""

    request: SoakRequest
    status: int | None
    latency_s: float
    retry_after: bool = False
    stream_end: str | None = None
    failures: tuple[str, ...] = ()


def valid_failure(outcome: Outcome) -> str | None:
    """How a valid request failed, or None when it was answered (200, or 422 'too long')."""
    if outcome.status is None:
        return "no response"
    if outcome.status >= 500:
        shed = outcome.status == 503 and outcome.retry_after
        return "503 shed (Retry-After)" if shed else str(outcome.status)
    if outcome.status not in (200, 422):
        return str(outcome.status)
    if outcome.status == 200 and outcome.request.stream and outcome.stream_end != "done":
        return f"stream ended by {outcome.stream_end or 'a cut connection'}"
    if outcome.failures:
        return outcome.failures[0]
    return None


@dataclass(slots=True)
class SoakTally:
    outcomes: list[Outcome] = field(default_factory=list)

    def add(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)

    def statuses(self) -> dict[Kind, Counter[str]]:
        found: dict[Kind, Counter[str]] = {kind: Counter() for kind in KINDS}
        for outcome in self.outcomes:
            status = "hung up" if outcome.request.kind == "disconnect" else outcome.status
            found[outcome.request.kind][str(status or "no response")] += 1
        return found

    def valid_failures(self) -> Counter[str]:
        found: Counter[str] = Counter()
        for outcome in self.outcomes:
            failure = valid_failure(outcome) if outcome.request.kind == "valid" else None
            if failure is not None:
                found[failure] += 1
        return found

    def malformed_server_errors(self) -> Counter[str]:
        """Malformed requests answered with anything but a 4xx."""
        return Counter(
            f"{outcome.request.label}: {outcome.status or 'no response'}"
            for outcome in self.outcomes
            if outcome.request.kind == "malformed"
            and (outcome.status is None or not 400 <= outcome.status < 500)
        )

    def valid_latencies_s(self) -> list[float]:
        """Latencies of the valid requests that were answered in full (200, nothing failed)."""
        return [
            outcome.latency_s
            for outcome in self.outcomes
            if outcome.request.kind == "valid"
            and outcome.status == 200
            and valid_failure(outcome) is None
        ]

    def valid_percentile_ms(self, fraction: float) -> float | None:
        latencies = self.valid_latencies_s()
        return percentile(latencies, fraction) * 1000 if latencies else None
