"""Schemathesis fuzzing of the OpenAPI schema, in process on fake backends: no 5xx, and every
answer (status, headers, body) as the schema documents it."""

from __future__ import annotations

from typing import get_args

import schemathesis
from hypothesis import HealthCheck, settings

from app.http.auth import digest_of
from app.http.openai_schemas import OpenAIRole
from app.main import create_app
from app.settings import Settings
from app.strategies.table import STRATEGY_NAMES
from app.wiring.compose import Backends
from app.wiring.fakes import FakeGenerator, FakeRetriever
from tests.conftest import SAMPLE_PASSAGES

EXAMPLES_PER_OPERATION = 60
FUZZ_KEY = "fuzz-key-0123456789"
OTHER_ROLES = set(get_args(OpenAIRole)) - {"user"}


def _fuzzed_app() -> object:
    service_settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        api_keys=[digest_of(FUZZ_KEY)],
        limits={"rate_limit_per_minute": 0, "failed_auth_per_minute": 0},
    )
    backends = Backends(
        FakeRetriever(SAMPLE_PASSAGES),
        FakeGenerator(answer="Base answer.", model_id="fake-base"),
        FakeGenerator(answer="Tuned answer.", model_id="fake-tuned"),
    )
    return create_app(service_settings, backends=backends)


schema = schemathesis.openapi.from_asgi("/openapi.json", _fuzzed_app())


@schema.hook("map_body")
def _conversation_rules(context: schemathesis.HookContext, body: object) -> object:
    """The rules the schema describes in words only: a conversation ends with the user's
    question, and `model` names a strategy (`GET /v1/models`). Generated bodies are mended to
    follow them rather than filtered out: most generated conversations break one, and drawing
    new ones until one does not cost most of the fuzzing time."""
    if not isinstance(body, dict):
        return body
    model = body.get("model")
    if isinstance(model, str) and model not in STRATEGY_NAMES:
        body = {**body, "model": STRATEGY_NAMES[len(model) % len(STRATEGY_NAMES)]}
    messages = body.get("messages")
    last = messages[-1] if isinstance(messages, list) and messages else None
    # Only a valid role is changed: a negative case's missing or wrong one must stay wrong.
    if isinstance(last, dict) and last.get("role") in OTHER_ROLES:
        body = {**body, "messages": [*messages[:-1], {**last, "role": "user"}]}
    return body


@schema.auth()
class ServiceKey:
    """A valid key on every case; schemathesis also checks that wrong or missing keys get 401."""

    def get(self, case: schemathesis.Case, context: schemathesis.AuthContext) -> str:
        return FUZZ_KEY

    def set(self, case: schemathesis.Case, key: str, context: schemathesis.AuthContext) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {key}"}


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_schema(case: schemathesis.Case) -> None:
    case.call_and_validate()
