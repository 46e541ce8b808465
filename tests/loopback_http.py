"""A throwaway HTTP server on 127.0.0.1 for tests that probe a URL (health checks, probes)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that keeps the test output free of access lines."""

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serving_on_loopback(handler: type[BaseHTTPRequestHandler]) -> Iterator[int]:
    """Serves `handler` on a free port of 127.0.0.1 in a thread; yields the port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
