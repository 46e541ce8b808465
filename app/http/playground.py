"""The playground: a page at `/` asking the three strategies at once, and its price table."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field, ValidationError

from app.errors import ServiceError
from app.http.dependencies import SettingsDep

STATIC_DIR = Path(__file__).resolve().parent / "static"
_ASSETS = {
    "playground.css": "text/css; charset=utf-8",
    "playground.js": "text/javascript; charset=utf-8",
}
# The page is static, but a stale copy after an upgrade would call an API it does not match.
_NO_STALE_COPIES = {"Cache-Control": "no-cache"}

playground_router = APIRouter()


class PricesUnavailable(ServiceError):
    """The price table is missing or unreadable; the page then shows no cost estimate."""

    status_code = 404
    code = "no_price_table"


class TokenPrice(BaseModel):
    input: float = Field(ge=0, description="Per million input tokens.")
    output: float = Field(ge=0, description="Per million output tokens.")


class TokenPrices(BaseModel):
    """The per-token part of the price table: what one request costs is tokens times these."""

    currency: str = "USD"
    as_of: str = Field("", description="Where the prices come from and when.")
    tokens_per_million: dict[str, TokenPrice] = Field(
        description="Model id to price per million tokens; models not listed have no estimate."
    )


def read_token_prices(path: Path) -> TokenPrices:
    """The token prices of the price table at `path` (`bedrock_tokens_per_million`)."""
    try:
        table = json.loads(path.read_text(encoding="utf-8"))
        return TokenPrices(
            currency=table.get("currency", "USD"),
            as_of=table.get("as_of", ""),
            tokens_per_million=table.get("bedrock_tokens_per_million", {}),
        )
    except (OSError, json.JSONDecodeError, AttributeError, ValidationError) as error:
        raise PricesUnavailable(f"no usable price table at {path}: {error}") from error


@playground_router.get("/", include_in_schema=False)
async def playground_page() -> FileResponse:
    return FileResponse(
        STATIC_DIR / "index.html", media_type="text/html; charset=utf-8", headers=_NO_STALE_COPIES
    )


@playground_router.get("/static/{name}", include_in_schema=False)
async def playground_asset(name: str) -> FileResponse:
    if name not in _ASSETS:
        raise HTTPException(status_code=404, detail=f"no static file {name!r}")
    return FileResponse(STATIC_DIR / name, media_type=_ASSETS[name], headers=_NO_STALE_COPIES)


@playground_router.get(
    "/pricing",
    response_model=TokenPrices,
    responses={404: {"description": "No price table: the playground shows no cost."}},
    summary="Token prices behind the playground's per-request cost estimate",
    tags=["playground"],
)
async def pricing(settings: SettingsDep) -> TokenPrices:
    return read_token_prices(settings.prices)
