"""`/docs` (Swagger UI) and `/redoc` with their JavaScript and CSS served by the service itself:
the pages work with no internet. The assets come from the `fastapi-offline` package (MIT), which
ships Swagger UI's and ReDoc's release bundles; FastAPI's own pages would load them from a CDN."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_ASSETS_URL = "/docs-assets"
DOCS_ASSETS = Path(str(files("fastapi_offline") / "static"))
# Swagger UI asks validator.swagger.io about the document by default: nothing leaves the page.
SWAGGER_UI_PARAMETERS = {"validatorUrl": None}
# Everything from the service itself: ReDoc's sidebar would fetch its maker's logo from a CDN.
# The pages start their viewer with an inline script (FastAPI's), ReDoc styles inline and runs a
# worker from a blob.
DOCS_CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "worker-src 'self' blob:",
        "connect-src 'self'",
    ]
)


def _same_origin_only(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = DOCS_CONTENT_SECURITY_POLICY
    return page


def docs_router(title: str, openapi_url: str) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    favicon = f"{DOCS_ASSETS_URL}/favicon.png"

    @router.get("/docs")
    async def swagger_ui() -> HTMLResponse:
        page = get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{title} - Swagger UI",
            swagger_js_url=f"{DOCS_ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=favicon,
            swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
        )
        return _same_origin_only(page)

    @router.get("/redoc")
    async def redoc() -> HTMLResponse:
        page = get_redoc_html(
            openapi_url=openapi_url,
            title=f"{title} - ReDoc",
            redoc_js_url=f"{DOCS_ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=favicon,
            with_google_fonts=False,
        )
        return _same_origin_only(page)

    return router


def serve_docs(app: FastAPI) -> None:
    """Adds /docs, /redoc and their assets, when the app serves its OpenAPI document."""
    if app.openapi_url is None:
        return
    app.mount(DOCS_ASSETS_URL, StaticFiles(directory=DOCS_ASSETS), name="docs-assets")
    app.include_router(docs_router(app.title, app.openapi_url))
