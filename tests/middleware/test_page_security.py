"""The service's pages carry a Content-Security-Policy without inline script, cannot be framed,
and are not sniffed; the playground has no inline script for the policy to block (issue 27)."""

from __future__ import annotations

from html.parser import HTMLParser

import httpx
import pytest

from app.http.playground import STATIC_DIR
from app.main import create_app
from app.settings import Settings
from app.wiring.compose import Backends
from app.wiring.fakes import FakeGenerator, FakeRetriever


def client() -> httpx.AsyncClient:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    app = create_app(
        settings, backends=Backends(FakeRetriever([]), FakeGenerator(), FakeGenerator())
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


def directives(policy: str) -> dict[str, str]:
    parts = (part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    return {part[0]: part[1] if len(part) > 1 else "" for part in parts}


@pytest.mark.parametrize("path", ["/", "/static/playground.js", "/static/playground.css"])
async def test_the_playground_gets_a_policy_without_inline_script(path: str) -> None:
    async with client() as http:
        response = await http.get(path)

    assert response.status_code == 200
    policy = directives(response.headers["content-security-policy"])
    assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
    assert "unsafe-inline" not in response.headers["content-security-policy"]
    assert policy["frame-ancestors"] == "'none'" and policy["object-src"] == "'none'"
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
async def test_the_documentation_pages_cannot_be_framed_or_sniffed(path: str) -> None:
    async with client() as http:
        response = await http.get(path)

    assert response.status_code == 200
    assert directives(response.headers["content-security-policy"])["frame-ancestors"] == "'none'"
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_api_answers_are_left_as_they_were() -> None:
    async with client() as http:
        response = await http.post("/rag", json={"question": "q"})

    assert response.status_code == 200
    assert "content-security-policy" not in response.headers


class _InlineFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.inline: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for name, _ in attrs}
        self.inline += [f"<{tag} {name}>" for name in names if name.startswith("on")]
        if "style" in names:
            self.inline.append(f"<{tag} style>")
        if tag == "style":
            self.inline.append("<style>")
        self._in_script = tag == "script"
        if tag == "script" and "src" not in names:
            self.inline.append("<script> without src")

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.append("script text")


def test_the_playground_page_has_no_inline_script_style_or_handler() -> None:
    finder = _InlineFinder()
    finder.feed((STATIC_DIR / "index.html").read_text(encoding="utf-8"))

    assert finder.inline == []
