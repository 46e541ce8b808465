"""API keys, open routes, CORS and closed docs, through the HTTP API on fake backends."""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pydantic
import pytest

import app.http.auth as security
from app.http.auth import digest_of, matching_digest
from app.main import create_app
from app.settings import Settings
from app.wiring.compose import Backends
from app.wiring.fakes import FakeGenerator, FakeRetriever
from tests.conftest import SAMPLE_PASSAGES

KEY = "sk-fmt-correct-horse-battery-staple"
OTHER_KEY = "sk-fmt-second-client-key"
QUESTION = {"question": "What pressure does the KX-420 use?"}


def make_client(**overrides: Any) -> httpx.AsyncClient:
    settings = Settings(_env_file=None, **overrides)  # type: ignore[call-arg]
    backends = Backends(FakeRetriever(SAMPLE_PASSAGES), FakeGenerator(), FakeGenerator())
    app = create_app(settings, backends=backends)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


@pytest.fixture
async def keyed() -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(api_keys=[digest_of(KEY), digest_of(OTHER_KEY)]) as client:
        yield client


async def test_without_configured_keys_the_service_is_open() -> None:
    async with make_client() as client:
        assert (await client.post("/rag", json=QUESTION)).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [{"Authorization": f"Bearer {KEY}"}, {"X-API-Key": KEY}, {"X-API-Key": OTHER_KEY}],
)
async def test_a_listed_key_is_accepted_in_either_header(
    keyed: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await keyed.post("/rag", json=QUESTION, headers=headers)
    assert response.status_code == 200
    assert response.json()["answer"] == "The answer is 42."


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "an API key is required"),
        ({"Authorization": "Bearer wrong-key"}, "not valid"),
        ({"X-API-Key": "wrong-key"}, "not valid"),
        ({"Authorization": f"Basic {KEY}"}, "an API key is required"),
        ({"X-API-Key": digest_of(KEY)}, "not valid"),  # the digest itself is not a key
    ],
)
async def test_a_missing_or_wrong_key_is_a_401_json_error(
    keyed: httpx.AsyncClient, headers: dict[str, str], message: str
) -> None:
    for path in ("/rag", "/finetuned", "/hybrid", "/compare"):
        response = await keyed.post(path, json=QUESTION, headers=headers)
        assert response.status_code == 401
        error = response.json()["error"]
        assert error["code"] == "unauthorized"
        assert message in error["message"]
        assert error["request_id"] == response.headers["x-request-id"]


async def test_health_and_ready_stay_open_and_metrics_need_the_key(
    keyed: httpx.AsyncClient,
) -> None:
    assert (await keyed.get("/health")).status_code == 200
    assert (await keyed.get("/ready")).status_code == 200
    assert (await keyed.get("/metrics")).status_code == 401
    metrics = await keyed.get("/metrics", headers={"Authorization": f"Bearer {KEY}"})
    assert metrics.status_code == 200


async def test_the_key_never_reaches_the_logs(
    keyed: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    await keyed.post("/rag", json=QUESTION, headers={"Authorization": f"Bearer {KEY}"})
    await keyed.post("/rag", json=QUESTION, headers={"X-API-Key": "sk-wrong-but-secret"})
    logged = capsys.readouterr().err

    assert '"status": 200' in logged and '"status": 401' in logged
    assert f'"client": "key:{digest_of(KEY)[:12]}"' in logged
    assert KEY not in logged
    assert "sk-wrong-but-secret" not in logged
    assert digest_of(KEY) not in logged


def test_every_listed_digest_is_compared_even_after_a_match(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    compared: list[bytes] = []
    real_compare = hmac.compare_digest

    def counting_compare(left: bytes, right: bytes) -> bool:
        compared.append(right)
        return real_compare(left, right)

    monkeypatch.setattr(security.hmac, "compare_digest", counting_compare)
    accepted = [digest_of(KEY), digest_of(OTHER_KEY), digest_of("third")]

    assert matching_digest(KEY, accepted) == digest_of(KEY)
    assert len(compared) == 3  # no early exit: the time does not say which key came close
    assert matching_digest("nope", accepted) is None


def test_a_raw_key_in_fmt_api_keys_is_refused_without_echoing_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FMT_API_KEYS", f"{digest_of(KEY)},my-raw-secret-key")
    with pytest.raises(pydantic.ValidationError) as raised:
        Settings(_env_file=None)  # type: ignore[call-arg]
    assert "FMT_API_KEYS entry 2" in str(raised.value)
    assert "my-raw-secret-key" not in str(raised.value)


def test_fmt_api_keys_is_read_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FMT_API_KEYS", f" {digest_of(KEY).upper()} , {digest_of(OTHER_KEY)}")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.api_keys == [digest_of(KEY), digest_of(OTHER_KEY)]


async def test_docs_can_be_closed() -> None:
    async with make_client(docs_enabled=False) as client:
        for path in ("/docs", "/redoc", "/openapi.json"):
            assert (await client.get(path)).status_code == 404
        assert (await client.post("/rag", json=QUESTION)).status_code == 200


async def test_cors_allows_only_the_configured_origins() -> None:
    async with make_client(cors_origins="https://shop.example.com") as client:
        preflight = {"Access-Control-Request-Method": "POST"}
        allowed = await client.options(
            "/rag", headers={**preflight, "Origin": "https://shop.example.com"}
        )
        refused = await client.options(
            "/rag", headers={**preflight, "Origin": "https://evil.example.net"}
        )
        answer = await client.post(
            "/rag", json=QUESTION, headers={"Origin": "https://shop.example.com"}
        )

    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://shop.example.com"
    assert "access-control-allow-origin" not in refused.headers
    assert answer.headers["access-control-allow-origin"] == "https://shop.example.com"
    assert "X-Request-ID" in answer.headers["access-control-expose-headers"]


async def test_without_cors_origins_no_browser_origin_is_allowed() -> None:
    async with make_client() as client:
        answer = await client.post("/rag", json=QUESTION, headers={"Origin": "https://x.example"})
    assert "access-control-allow-origin" not in answer.headers


SECRET_FAILURE = "AccessDenied: arn:aws:iam::123456789012:role/fm-tailor is not authorized"


def failed_start(_settings: Settings) -> Backends:
    raise RuntimeError(SECRET_FAILURE)


async def ready_after_failed_start(
    client_host: str, headers: dict[str, str], **settings: Any
) -> tuple[httpx.Response, httpx.Response]:
    app = create_app(Settings(_env_file=None, **settings), builder=failed_start)  # type: ignore[call-arg]
    transport = httpx.ASGITransport(app=app, client=(client_host, 5000))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://t", headers=headers) as client,
    ):
        for _ in range(200):
            ready = await client.get("/ready")
            if ready.json()["detail"] != "loading":
                break
            await asyncio.sleep(0.01)
        answer = await client.post("/rag", json={"question": "q"})
    return ready, answer


@pytest.mark.parametrize(
    ("client_host", "headers", "keys", "shown"),
    [
        ("203.0.113.9", {}, [], False),  # open service, remote caller
        ("127.0.0.1", {}, [], True),  # open service, this machine
        ("127.0.0.1", {}, [digest_of(KEY)], False),  # keys set: loopback is not enough
        ("203.0.113.9", {"Authorization": f"Bearer {KEY}"}, [digest_of(KEY)], True),
    ],
    ids=["anonymous-remote", "open-loopback", "keys-no-key", "keys-valid-key"],
)
async def test_ready_shows_why_start_up_failed_only_to_trusted_callers(
    client_host: str, headers: dict[str, str], keys: list[str], shown: bool
) -> None:
    ready, answer = await ready_after_failed_start(client_host, headers, api_keys=keys)

    assert ready.status_code == 503
    assert ready.json()["ready"] is False
    assert ("123456789012" in ready.text) is shown
    assert "123456789012" not in answer.text  # the answers never say it
    assert answer.json()["error"]["code"] in ("not_ready", "unauthorized")


async def test_invalid_keys_from_one_address_are_slowed_down() -> None:
    limits = {"failed_auth_per_minute": 3}
    async with make_client(api_keys=[digest_of(KEY)], limits=limits) as client:
        guesses = [
            (await client.post("/rag", json={"question": "q"}, headers={"X-API-Key": f"guess{n}"}))
            for n in range(5)
        ]
        valid_meanwhile = await client.post(
            "/rag", json={"question": "q"}, headers={"X-API-Key": KEY}
        )

    assert [guess.status_code for guess in guesses] == [401, 401, 401, 429, 429]
    assert guesses[-1].json()["error"]["code"] == "rate_limited"
    assert int(guesses[-1].headers["retry-after"]) >= 1
    # Someone sharing the address (a NAT, an office) cannot lock a key holder out (issue 27).
    assert valid_meanwhile.status_code == 200


async def test_compare_costs_the_client_one_request_per_strategy_it_runs() -> None:
    limits = {"rate_limit_per_minute": 1, "burst": 3}
    async with make_client(limits=limits) as client:
        compared = await client.post("/compare", json={"question": "q"})
        after = await client.post("/rag", json={"question": "q"})

    assert compared.status_code == 200 and len(compared.json()["results"]) == 3
    assert after.status_code == 429  # the three generations spent the burst of three
