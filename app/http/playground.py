"""The playground: a page at `/` asking every strategy of the table at once, and its price table."""

from __future__ import annotations

import html
import json
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, HTMLResponse
from pydantic import BaseModel, Field, ValidationError

from app.core.errors import PricesUnavailable
from app.http.dependencies import SettingsDep, StateDep
from app.strategies.table import StrategySpec

STATIC_DIR = Path(__file__).resolve().parent / "static"
_ASSETS = {
    "playground.css": "text/css; charset=utf-8",
    "playground.js": "text/javascript; charset=utf-8",
}
_COLUMNS_MARK = "<!-- strategy columns: the service writes one per entry of its strategy table -->"
# The page is static, but a stale copy after an upgrade would call an API it does not match.
_NO_STALE_COPIES = {"Cache-Control": "no-cache"}

playground_router = APIRouter()


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
        # The path and the parser's words are for the log (no key is needed to ask).
        raise PricesUnavailable(
            "prices are unavailable", detail=f"no usable price table at {path}: {error}"
        ) from error


def _column(spec: StrategySpec) -> str:
    name = html.escape(spec.name, quote=True)
    retrieves = "true" if spec.retrieves else "false"
    return f"""      <article class="column" data-strategy="{name}" data-retrieves="{retrieves}"
        aria-labelledby="{name}-title">
        <header class="column-head">
          <h2 id="{name}-title">{html.escape(spec.label)}</h2>
          <span class="state" data-role="state" data-state="idle">idle</span>
        </header>
        <p class="what">{html.escape(spec.description)}</p>
      </article>
"""


@lru_cache(maxsize=8)
def render_page(table: tuple[StrategySpec, ...]) -> str:
    """The page with one answer column per strategy of the table."""
    page = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    return page.replace(_COLUMNS_MARK, "".join(_column(spec) for spec in table))


@playground_router.get("/", include_in_schema=False)
async def playground_page(state: StateDep) -> HTMLResponse:
    return HTMLResponse(render_page(tuple(state.table)), headers=_NO_STALE_COPIES)


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
