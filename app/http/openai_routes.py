"""The OpenAI-compatible API over the strategy table: `GET /v1/models`,
`POST /v1/chat/completions` (the model is a strategy), answered by the same runner as the
native routes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from app.http.answering import answer, open_stream, strategy_named
from app.http.dependencies import AnsweringDep, StateDep, admit_request
from app.http.disconnect import cancel_on_disconnect
from app.http.openai_schemas import (
    ChatCompletion,
    ChatCompletionRequest,
    Model,
    ModelList,
    OpenAIErrorResponse,
)
from app.http.openai_stream import ChunkEvents, chat_completion
from app.http.sse import SSE_MEDIA_TYPE, event_stream_response
from app.strategies.conversation import conversation_query

# Start-up time stands for every model's `created`: the strategies exist since the service does.
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": OpenAIErrorResponse, "description": description}
    for code, description in {
        400: "Invalid or unsupported request (OpenAI's error shape).",
        401: "Missing or wrong API key.",
        404: "No such model (`model_not_found`).",
        429: "Rate limit exceeded; see Retry-After.",
        502: "A backend answered with something unusable.",
        503: "A backend is unavailable, throttled, or still loading.",
        504: "A backend timed out.",
    }.items()
}

openai_router = APIRouter(
    prefix="/v1",
    tags=["openai"],
    responses=_ERRORS,
)


@openai_router.get(
    "/models",
    response_model=ModelList,
    summary="The strategies, as models",
    dependencies=[Depends(admit_request)],
)
async def list_models(state: StateDep) -> ModelList:
    return ModelList(data=[Model(id=spec.name, created=state.started_at) for spec in state.table])


@openai_router.post(
    "/chat/completions",
    response_model=ChatCompletion,
    responses={
        200: {
            "description": "The answer, or `chat.completion.chunk` events ending with "
            "`data: [DONE]` when `stream` is true.",
            "content": {
                SSE_MEDIA_TYPE: {
                    # Each event, as the native routes document theirs: data lines only.
                    "schema": {
                        "type": "object",
                        "required": ["data"],
                        "properties": {
                            "data": {
                                "type": "string",
                                "description": "A `chat.completion.chunk`'s JSON, or `[DONE]`.",
                            }
                        },
                    }
                }
            },
        }
    },
    summary="Answer a conversation with the strategy named by `model`",
)
async def chat_completions(
    body: ChatCompletionRequest, request: Request, context: AnsweringDep
) -> ChatCompletion | Response:
    composition = context.composition
    strategy_named(composition, body.model)  # 404 before any other check
    query = conversation_query(
        body.turns(),
        context.settings,
        max_tokens=body.answer_tokens(),
        temperature=body.temperature,
        top_p=body.top_p,
        stop=body.stop_texts(),
    )
    if body.stream:
        include_usage = body.stream_options is not None and body.stream_options.include_usage
        first, events = await cancel_on_disconnect(
            request, open_stream(body.model, query, composition, until_text=True)
        )
        return event_stream_response(
            first, events, ChunkEvents(body.model, context.request_id, include_usage)
        )
    result = await cancel_on_disconnect(request, answer(body.model, query, composition))
    return chat_completion(result, body.model, context.request_id)
