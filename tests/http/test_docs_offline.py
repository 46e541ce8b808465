"""/docs and /redoc are served with local assets: no page references another host."""

from __future__ import annotations

import re

import httpx
import pytest

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.IGNORECASE)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_the_docs_pages_load_their_assets_from_the_service(
    client: httpx.AsyncClient, page: str
) -> None:
    response = await client.get(page)

    assert response.status_code == 200
    html = response.text
    assert not EXTERNAL.search(html), html
    # What the scripts might fetch on their own (ReDoc's logo) is refused by the page's policy.
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assets = re.findall(r"""(?:src|href)=["']?(/docs-assets/[^"'\s>]+)""", html)
    assert assets
    for asset in assets:
        served = await client.get(asset)
        assert served.status_code == 200, asset
        assert len(served.content) > 1000


async def test_the_openapi_document_declares_both_key_schemes(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()

    schemes = document["components"]["securitySchemes"]
    assert schemes["HTTPBearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key as `Authorization: Bearer <key>`.",
    }
    assert schemes["APIKeyHeader"]["in"] == "header"
    assert schemes["APIKeyHeader"]["name"] == "X-API-Key"
    for path in ("/rag", "/compare", "/v1/chat/completions"):
        operation = document["paths"][path]["post"]
        assert {name for item in operation["security"] for name in item} == {
            "HTTPBearer",
            "APIKeyHeader",
        }
    assert "/v1/models" in document["paths"]
