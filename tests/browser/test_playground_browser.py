"""The playground in headless Chromium: ask once, watch three answers stream in with sources."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect, sync_playwright

from app.http.auth import digest_of
from app.settings import Settings
from tests.browser.conftest import BASE_ANSWER, CHROMIUM_ARGS, TUNED_ANSWER, LiveServer

pytestmark = pytest.mark.browser

QUESTION = "What hydraulic pressure does the press run at?"


@pytest.fixture
def browser(chromium: Path) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def test_three_answers_stream_in_side_by_side_with_their_sources(
    browser: Browser, live_server: LiveServer, tmp_path: Path
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(live_server.url + "/")
    expect(page.locator("#service-status")).to_contain_text("ready")

    page.locator("#question").fill(QUESTION)
    page.locator("#question").press("Enter")

    rag = page.locator('.column[data-strategy="rag"]')
    # Mid-stream: part of the answer is on screen before the column is done.
    expect(rag.locator('[data-role="state"]')).to_have_text("streaming")
    assert rag.locator('[data-role="answer"]').inner_text() != BASE_ANSWER

    expected = {"rag": BASE_ANSWER, "finetuned": TUNED_ANSWER, "hybrid": TUNED_ANSWER}
    for strategy, answer in expected.items():
        column = page.locator(f'.column[data-strategy="{strategy}"]')
        expect(column.locator('[data-role="state"]')).to_have_text("done")
        expect(column.locator('[data-role="answer"]')).to_have_text(answer)
        expect(column.locator('[data-role="tokens"]')).to_contain_text("/")
        expect(column.locator('[data-role="server-timings"]')).to_contain_text("generate")
    for strategy in ("rag", "hybrid"):
        sources = page.locator(f'.column[data-strategy="{strategy}"] .source')
        expect(sources).to_have_count(2)
        expect(sources.first).to_contain_text("Kestrel KX-420 Hydraulic Press")
        expect(sources.first).to_contain_text("score")
    finetuned = page.locator('.column[data-strategy="finetuned"]')
    expect(finetuned.locator(".no-sources")).to_be_visible()
    expect(finetuned.locator(".no-sources")).to_contain_text("No retrieval")
    expect(page.locator("#announcer")).to_contain_text("Hybrid answered")
    # The shipped price table has no price for the fake models: an estimate, honestly absent.
    expect(rag.locator('[data-role="cost"]')).to_have_text("no list price for this model")
    page.screenshot(path=str(tmp_path / "playground-desktop.png"), full_page=True)


def test_on_a_phone_the_columns_stack(
    browser: Browser, live_server: LiveServer, tmp_path: Path
) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
    page.goto(live_server.url + "/")
    page.locator("#question").fill(QUESTION)
    page.locator("#ask-button").click()
    for strategy in ("rag", "finetuned", "hybrid"):
        state = page.locator(f'.column[data-strategy="{strategy}"] [data-role="state"]')
        expect(state).to_have_text("done")

    boxes = [
        page.locator(f'.column[data-strategy="{strategy}"]').bounding_box()
        for strategy in ("rag", "finetuned", "hybrid")
    ]
    assert all(box is not None for box in boxes)
    lefts = {round(box["x"]) for box in boxes if box}
    assert len(lefts) == 1, "columns should sit under each other on a phone"
    assert all(box["width"] <= 390 for box in boxes if box)
    page.screenshot(path=str(tmp_path / "playground-phone.png"), full_page=True)


def test_a_service_that_wants_a_key_gets_it_from_the_key_field(
    browser: Browser, settings: Settings, tmp_path: Path
) -> None:
    prices = tmp_path / "prices.json"
    table = {
        "currency": "USD",
        "bedrock_tokens_per_million": {"fake-base": {"input": 3, "output": 15}},
    }
    prices.write_text(json.dumps(table), encoding="utf-8")
    locked = settings.model_copy(update={"api_keys": [digest_of("secret-key")], "prices": prices})
    with LiveServer(locked) as server:
        page = browser.new_page()
        sent: list[str | None] = []
        page.on(
            "request",
            lambda request: (
                sent.append(request.headers.get("authorization"))
                if request.url.endswith("/rag")
                else None
            ),
        )
        page.goto(server.url + "/")
        rag = page.locator('.column[data-strategy="rag"]')
        page.locator("#question").fill(QUESTION)
        page.locator("#question").press("Enter")
        expect(rag.locator('[data-role="state"]')).to_have_text("error")
        expect(rag.locator('[data-role="answer"]')).to_contain_text("API key")
        expect(page.locator("#api-key")).to_be_visible()

        page.locator("#api-key").fill("secret-key")
        page.locator("#question").press("Enter")
        expect(rag.locator('[data-role="state"]')).to_have_text("done")

        assert sent == [None, "Bearer secret-key"]
        assert page.evaluate("sessionStorage.getItem('fm-tailor.api-key')") == "secret-key"
        # Priced model: tokens times the table's prices, labelled an estimate.
        expect(rag.locator('[data-role="cost"]')).to_contain_text("$0.00")
        expect(rag.locator('[data-role="cost"]')).to_contain_text("per request")
        finetuned = page.locator('.column[data-strategy="finetuned"] [data-role="cost"]')
        expect(finetuned).to_have_text("no list price for this model")


def test_the_playground_works_under_its_content_security_policy(
    browser: Browser, live_server: LiveServer
) -> None:
    page = browser.new_page()
    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text))
    response = page.goto(live_server.url + "/")

    assert response is not None
    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(page.locator("#service-status")).to_contain_text("ready")  # its script ran
    page.locator("#question").fill(QUESTION)
    page.locator("#question").press("Enter")
    expect(page.locator('.column[data-strategy="rag"] [data-role="state"]')).to_have_text("done")
    assert not [text for text in refused if "Content Security Policy" in text]
