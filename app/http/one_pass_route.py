"""A FastAPI route whose usual request skips FastAPI's per-request body and dependency handling."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from app.middleware.body_limit import replay

RequestGuard = Callable[[Request], Awaitable[object]]


class OnePassBodyRoute(APIRoute):
    """An `APIRoute` that FastAPI documents as usual (the endpoint's signature makes the OpenAPI
    operation: the same request schema, examples and responses), but whose usual request, a JSON
    body its model accepts, is validated in one pass by `model_validate_json` on the raw bytes,
    its dependencies are called directly and the endpoint runs without dependency resolution.

    Every other request (no or another `Content-Type`, a body the model refuses, dependency
    overrides) goes to FastAPI's own handler, so errors, and the order in which they are found,
    stay FastAPI's. Only for endpoints taking `(body: Model, request: Request)` with dependencies
    that each take the request alone; any other endpoint keeps FastAPI's handler. A router that
    includes this route gets FastAPI's handler too (its dependencies are FastAPI's to resolve).
    """

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        plan = _one_pass_plan(self)
        self.one_pass = plan is not None
        if plan is not None:
            self.app = plan.asgi_app(fallback=self.app)


class _OnePassPlan:
    def __init__(
        self,
        model: type[BaseModel],
        body_name: str,
        request_name: str,
        guards: list[RequestGuard],
        endpoint: Callable[..., Awaitable[Response]],
    ) -> None:
        self.model = model
        self.body_name = body_name
        self.request_name = request_name
        self.guards = guards
        self.endpoint = endpoint

    def asgi_app(self, fallback: ASGIApp) -> ASGIApp:
        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            if not _plain_json(scope):
                await fallback(scope, receive, send)
                return
            message = await receive()
            try:
                if message["type"] != "http.request" or message.get("more_body", False):
                    raise ValueError("the body comes in more than one message")
                body = self.model.model_validate_json(message.get("body", b""))
            except (ValueError, ValidationError):  # FastAPI finds, and words, the error
                await fallback(scope, replay(message, receive), send)
                return
            request = Request(scope, receive, send)
            for guard in self.guards:
                await guard(request)
            arguments = {self.body_name: body, self.request_name: request}
            response = await self.endpoint(**arguments)
            await response(scope, receive, send)

        return app


def _one_pass_plan(route: APIRoute) -> _OnePassPlan | None:
    """How to serve `route` in one pass, or None when it is not the kind of route it serves."""
    dependant = route.dependant
    body_field = route.body_field
    if (
        body_field is None
        or route._embed_body_fields
        or dependant.body_params != [body_field]
        or _takes_more_than_request(dependant)
        or not inspect.iscoroutinefunction(dependant.call)
        or dependant.request_param_name is None
    ):
        return None
    model = body_field.field_info.annotation
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return None
    guards: list[RequestGuard] = []
    for dependency in dependant.dependencies:
        if (
            _takes_more_than_request(dependency)
            or dependency.body_params
            or dependency.dependencies
            or dependency.request_param_name is None
            or not inspect.iscoroutinefunction(dependency.call)
        ):
            return None
        guards.append(dependency.call)
    return _OnePassPlan(
        model, body_field.name, dependant.request_param_name, guards, route.endpoint
    )


def _takes_more_than_request(dependant: Dependant) -> bool:
    """Parameters other than the request and the body: FastAPI's to resolve."""
    return bool(
        dependant.path_params
        or dependant.query_params
        or dependant.header_params
        or dependant.cookie_params
        or dependant.websocket_param_name
        or dependant.http_connection_param_name
        or dependant.response_param_name
        or dependant.background_tasks_param_name
        or dependant.security_scopes_param_name
    )


def _plain_json(scope: Scope) -> bool:
    """`Content-Type: application/json` (parameters aside), and no dependency overrides."""
    if getattr(scope.get("app"), "dependency_overrides", None):
        return False
    for name, value in scope["headers"]:
        if name == b"content-type":
            media_type = value.split(b";", 1)[0].strip().lower()
            return bool(media_type == b"application/json")
    return False
