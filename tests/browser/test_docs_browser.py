"""/docs and /redoc in headless Chromium with every request off this service refused: both pages
render their operations from the service's own assets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright

from tests.browser.conftest import CHROMIUM_ARGS, LiveServer

pytestmark = pytest.mark.browser


@pytest.fixture
def browser(chromium: Path) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def offline_page(browser: Browser, server: LiveServer, refused: list[str]) -> Page:
    """A page that may reach this service only: anything else is aborted and noted, as are
    the page's errors."""
    page = browser.new_page()
    page.on("pageerror", lambda error: refused.append(f"page error: {error}"))

    def only_the_service(route: Route) -> None:
        if route.request.url.startswith(server.url):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    page.route("**/*", only_the_service)
    return page


def test_swagger_ui_renders_every_operation_offline(
    browser: Browser, live_server: LiveServer
) -> None:
    refused: list[str] = []
    page = offline_page(browser, live_server, refused)

    page.goto(live_server.url + "/docs")

    operations = page.locator(".opblock-summary-path")
    expect(operations.filter(has_text="/v1/chat/completions")).to_have_count(1)
    for path in ("/rag", "/finetuned", "/hybrid", "/compare", "/v1/models"):
        expect(operations.filter(has_text=path).first).to_be_visible()
    expect(page.locator(".btn.authorize")).to_be_visible()
    assert refused == []


def test_redoc_renders_every_operation_offline(browser: Browser, live_server: LiveServer) -> None:
    refused: list[str] = []
    page = offline_page(browser, live_server, refused)

    page.goto(live_server.url + "/redoc")

    expect(page.get_by_text("Answer with the rag strategy").first).to_be_attached()
    expect(
        page.get_by_text("Answer a conversation with the strategy named by").first
    ).to_be_attached()
    expect(page.locator("[data-section-id^='operation/']").first).to_be_attached()
    assert refused == []
