"""Body limits: bodies too large (413) or not JSON (415) are refused before any routing."""

from __future__ import annotations

from starlette.types import Message, Receive, Scope

from app.core.errors import PayloadTooLarge, ServiceError, UnsupportedMediaType

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


def refusal_before_reading(scope: Scope, max_body_bytes: int) -> ServiceError | None:
    """415 for a declared type that is not JSON, 413 for a declared length over the limit."""
    if scope["method"] not in _METHODS_WITH_BODY:
        return None
    content_type = _header(scope, b"content-type")
    if content_type is not None and not is_json_media_type(content_type):
        message = f"send JSON with `Content-Type: application/json`, not {content_type[:80]!r}"
        return UnsupportedMediaType(message)
    declared = _header(scope, b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_body_bytes:
        return too_large(max_body_bytes)
    return None


def too_large(max_body_bytes: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"request body larger than {max_body_bytes} bytes")


async def bounded_receive(scope: Scope, receive: Receive, max_body_bytes: int) -> Receive:
    """A receive giving the whole body at once; PayloadTooLarge once it passes the limit.

    The body is small by then (the limit is a few tens of kB), so reading it here costs nothing
    and a chunked body over the limit is refused before any routing. It is read before the key
    is checked: the body deadline (`app.middleware.deadlines`) keeps a client sending a byte a
    minute from holding a connection and its buffer.
    """
    if scope["method"] not in _METHODS_WITH_BODY:
        return receive
    body = await _read_body(receive, max_body_bytes)
    if body is None:
        raise too_large(max_body_bytes)
    return replay(body, receive)


async def _read_body(receive: Receive, max_body_bytes: int) -> Message | None:
    """The whole body as one message, or None once it passes the limit."""
    message = await receive()
    if message["type"] != "http.request" or not message.get("more_body", False):
        if len(message.get("body", b"")) > max_body_bytes:
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
        if size > max_body_bytes:
            return None
    return {"type": "http.request", "body": b"".join(chunks), "more_body": False}


def replay(first: Message, receive: Receive) -> Receive:
    """A receive that gives `first` (the buffered body) once, then waits on the client."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return first
        return await receive()

    return replay
