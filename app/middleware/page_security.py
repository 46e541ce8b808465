"""Security headers for what a browser renders: a Content-Security-Policy without inline script,
`frame-ancestors 'none'` and `nosniff` on every page and asset the service serves."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Everything from the service itself, nothing inline, no plugins, no framing: the playground
# loads /static/playground.js and /static/playground.css and calls the API on its own origin.
STRICT_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# FastAPI's /docs and /redoc pages start Swagger UI and ReDoc with an inline <script>: until
# their start-up script is served as a file they get only the policy's framing and plugin rules
# (docs/operations.md says what they need to take STRICT_POLICY).
DOCS_POLICY = "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})
_PAGE_METHODS = frozenset({"GET", "HEAD"})


def _headers(policy: str) -> list[tuple[bytes, bytes]]:
    return [
        (b"content-security-policy", policy.encode("latin-1")),
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),  # frame-ancestors for browsers that predate it
        (b"referrer-policy", b"no-referrer"),
    ]


class PageSecurityMiddleware:
    """Adds the headers to every GET and HEAD response; the API's POST answers (JSON and SSE,
    read by programs) go through untouched, without a wrapped `send` per streamed piece."""

    def __init__(
        self,
        app: ASGIApp,
        strict_policy: str = STRICT_POLICY,
        docs_policy: str = DOCS_POLICY,
        docs_paths: frozenset[str] = DOCS_PATHS,
    ) -> None:
        self.app = app
        self.strict_headers = _headers(strict_policy)
        self.docs_headers = _headers(docs_policy)
        self.docs_paths = docs_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _PAGE_METHODS:
            await self.app(scope, receive, send)
            return
        added = self.docs_headers if scope["path"] in self.docs_paths else self.strict_headers

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *added]
            await send(message)

        await self.app(scope, receive, send_with_headers)
