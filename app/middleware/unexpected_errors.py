"""Turns an exception that escaped every handler into the contract's JSON 500."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.http.error_handlers import error_response

logger = logging.getLogger(__name__)


class UnexpectedErrorMiddleware:
    """Turns an unexpected exception into the JSON 500 of the contract, logged once.

    Starlette's own handler for `Exception` re-raises after answering, which would log the
    traceback twice and make in-process test clients raise; this stops the error here.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_tracking(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_tracking)
        except Exception:
            logger.exception("unexpected error")
            if started:  # the status line is gone; all we can do is end the response
                raise
            response = error_response(
                Request(scope), 500, "internal_error", "internal error; see the service log"
            )
            await response(scope, receive, send)
