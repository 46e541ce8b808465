"""The playground page over plain HTTP: served, self-contained, and its price table."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from app.main import create_app
from app.settings import Settings
from app.wiring.compose import Backends
from app.wiring.fakes import FakeGenerator, FakeRetriever
from tests.conftest import SAMPLE_PASSAGES


def _app_with_prices(prices: Path) -> FastAPI:
    settings = Settings(_env_file=None, prices=prices)  # type: ignore[call-arg]
    backends = Backends(FakeRetriever(SAMPLE_PASSAGES), FakeGenerator(), FakeGenerator())
    return create_app(settings, backends=backends)


async def _get(app: FastAPI, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return await client.get(path)


async def test_the_page_offers_the_three_strategies_and_the_api_docs(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    for strategy in ("rag", "finetuned", "hybrid"):
        assert f'data-strategy="{strategy}"' in page
    assert 'href="/docs"' in page
    assert 'id="question"' in page
    assert 'aria-live="polite"' in page


async def test_every_asset_the_page_links_is_served_from_the_service(
    client: httpx.AsyncClient,
) -> None:
    page = (await client.get("/")).text
    linked = re.findall(r'(?:src|href)="([^"]+)"', page)

    assert not [url for url in linked if "//" in url], "the page must load nothing from elsewhere"
    assets = [url for url in linked if url.startswith("/static/")]
    assert {"/static/playground.css", "/static/playground.js"} <= set(assets)
    for asset in assets:
        response = await client.get(asset)
        assert response.status_code == 200, asset
        assert response.text.strip()
    css = await client.get("/static/playground.css")
    assert css.headers["content-type"].startswith("text/css")


async def test_an_unknown_static_file_is_a_json_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/static/../settings.py")
    other = await client.get("/static/secrets.txt")

    assert response.status_code == 404
    assert other.status_code == 404
    assert other.json()["error"]["code"] == "not_found"


async def test_pricing_serves_the_token_prices_of_the_price_table(tmp_path: Path) -> None:
    table = {
        "currency": "USD",
        "as_of": "test prices",
        "vector_store_ocu_hour": 0.24,
        "bedrock_tokens_per_million": {"model-a": {"input": 0.22, "output": 0.5}},
        "sagemaker_hosting_hour": {},
        "sagemaker_training_hour": {},
    }
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps(table), encoding="utf-8")

    response = await _get(_app_with_prices(prices), "/pricing")

    assert response.status_code == 200
    assert response.json() == {
        "currency": "USD",
        "as_of": "test prices",
        "tokens_per_million": {"model-a": {"input": 0.22, "output": 0.5}},
    }


@pytest.mark.parametrize("content", [None, "{not json", '{"bedrock_tokens_per_million": 3}'])
async def test_pricing_without_a_usable_price_table_is_a_404(
    tmp_path: Path, content: str | None
) -> None:
    prices = tmp_path / "prices.json"
    if content is not None:
        prices.write_text(content, encoding="utf-8")

    response = await _get(_app_with_prices(prices), "/pricing")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "no_price_table"
    # No key is needed here: the answer names neither the file nor the parser's complaint.
    message = response.json()["error"]["message"]
    assert str(tmp_path) not in message
    assert "Expecting" not in message and "validation" not in message
    assert message == "prices are unavailable"


async def test_the_shipped_price_table_is_readable(client: httpx.AsyncClient) -> None:
    response = await client.get("/pricing")

    assert response.status_code == 200
    assert response.json()["tokens_per_million"], "data/prices.json lists no token prices"
