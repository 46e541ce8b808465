"""Refuses request bodies that are too large (413) or not JSON (415), before any routing."""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.http.error_handlers import error_response

_METHODS_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def is_json_media_type(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


class RequestBodyLimitMiddleware:
    """Refuses bodies over `max_body_bytes` (413) and bodies that are not JSON (415).

    Pure ASGI: the body is read here (it is small by then) and replayed to the app.
    """

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _METHODS_WITH_BODY:
            await self.app(scope, receive, send)
            return
        content_type = _header(scope, b"content-type")
        if content_type is not None and not is_json_media_type(content_type):
            message = f"send JSON with `Content-Type: application/json`, not {content_type[:80]!r}"
            await self._refuse(scope, receive, send, 415, message)
            return
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await self._refuse(scope, receive, send, 413, self._too_large())
            return
        body = await self._read_body(receive)
        if body is None:
            await self._refuse(scope, receive, send, 413, self._too_large())
            return
        await self.app(scope, _replay(body, receive), send)

    def _too_large(self) -> str:
        return f"request body larger than {self.max_body_bytes} bytes"

    async def _read_body(self, receive: Receive) -> Message | None:
        """The whole body as one message, or None once it passes the limit."""
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            if len(message.get("body", b"")) > self.max_body_bytes:
                return None
            return message
        chunks = [message.get("body", b"")]
        size = len(chunks[0])
        while message.get("more_body", False):
            message = await receive()
            if message["type"] != "http.request":
                return message
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_body_bytes:
                return None
        return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

    async def _refuse(
        self, scope: Scope, receive: Receive, send: Send, status: int, message: str
    ) -> None:
        codes = {413: "payload_too_large", 415: "unsupported_media_type"}
        response = error_response(Request(scope), status, codes[status], message)
        await response(scope, receive, send)


def _replay(first: Message, receive: Receive) -> Receive:
    """A receive that gives the buffered body once, then waits on the client (disconnects)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return first
        return await receive()

    return replay
