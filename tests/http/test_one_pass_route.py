"""The one-pass body route answers every request exactly as FastAPI's own handler does."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute

from app.errors import Unauthorized
from app.http.error_handlers import install_error_handlers
from app.http.one_pass_route import OnePassBodyRoute
from app.http.schemas import AnswerRequest
from app.middleware.stack import middleware_stack
from app.observability import Metrics
from app.settings import Settings

JSON = {"content-type": "application/json"}
REQUESTS: list[tuple[bytes, dict[str, str]]] = [
    (b'{"question": "q"}', JSON),
    (b'{"question": "q", "top_k": 5.0, "temperature": 1, "stream": false}', JSON),
    (b'{"question": "a", "question": "b"}', JSON),
    (b'{"question": "q"}', {"content-type": "application/json; charset=utf-8"}),
    (b'{"question": "q"}', {"content-type": "application/vnd.api+json"}),
    (b'{"question": "q"}', {}),
    (b'{"question": "q"}', {"content-type": "text/plain"}),
    (b'\xef\xbb\xbf{"question": "q"}', JSON),
    (b'{"question": "q"', JSON),
    (b'{"question": "\xff"}', JSON),
    (b"[1, 2]", JSON),
    (b"null", JSON),
    (b"", JSON),
    (b'{"question": ""}', JSON),
    (b'{"question": "q", "top_k": "5"}', JSON),
    (b'{"question": "q", "top_k": 5.5, "stream": 0}', JSON),
    (b'{"question": "q", "unknown": 1}', JSON),
    (b'{"question": "' + b"x" * 4001 + b'"}', JSON),
    (b'{"question": "q", "temperature": NaN}', JSON),
    (b'{"question": "q"}', {**JSON, "x-refuse": "yes"}),
    (b'{"question": ""}', {**JSON, "x-refuse": "yes"}),
    (b'{"question": "q"', {**JSON, "x-refuse": "yes"}),
]


async def _refuse_when_asked(request: Request) -> None:
    if request.headers.get("x-refuse"):
        raise Unauthorized("refused")


async def _echo(body: AnswerRequest, request: Request) -> Response:
    return JSONResponse({"body": body.model_dump(), "path": request.url.path})


def _echo_app(route_class: type[APIRoute]) -> FastAPI:
    settings = Settings(_env_file=None)
    app = FastAPI(middleware=middleware_stack(settings, Metrics()))
    install_error_handlers(app)
    app.router.add_api_route(
        "/echo",
        _echo,
        methods=["POST"],
        dependencies=[Depends(_refuse_when_asked)],
        route_class_override=route_class,
    )
    return app


async def _answers(app: FastAPI) -> list[tuple[int, Any]]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        answers = []
        for body, headers in REQUESTS:
            response = await client.post("/echo", content=body, headers=headers)
            payload = response.json()
            if isinstance(payload.get("error"), dict):
                payload["error"].pop("request_id")
            answers.append((response.status_code, payload))
        return answers


async def test_every_request_is_answered_as_fastapi_answers_it() -> None:
    one_pass = await _answers(_echo_app(OnePassBodyRoute))
    fastapi = await _answers(_echo_app(APIRoute))
    assert one_pass == fastapi
    assert {status for status, _ in one_pass} >= {200, 400, 401, 415, 422}


def test_the_route_is_served_in_one_pass_only_where_it_can_be() -> None:
    assert _echo_app(OnePassBodyRoute).router.routes[-1].one_pass  # type: ignore[attr-defined]

    async def with_query(body: AnswerRequest, request: Request, limit: int = 3) -> Response:
        return Response()

    router = APIRouter(route_class=OnePassBodyRoute)
    router.add_api_route("/other", with_query, methods=["POST"])
    assert not router.routes[-1].one_pass  # type: ignore[attr-defined]


@pytest.mark.parametrize("path", ["/rag", "/finetuned", "/hybrid", "/compare"])
def test_the_strategy_routes_are_served_in_one_pass(app: FastAPI, path: str) -> None:
    routes = [route for route in app.router.routes if getattr(route, "path", None) == path]
    assert [type(route) for route in routes] == [OnePassBodyRoute]
    assert routes[0].one_pass  # type: ignore[attr-defined]
