"""A request's conversation (or single question) and overrides as the query a strategy runs."""

from __future__ import annotations

from collections.abc import Sequence

from app.core.errors import InvalidRequest
from app.core.types import ChatMessage
from app.generators.base import GenerationParams
from app.settings import Settings
from app.strategies.runner import StrategyQuery


def check_conversation(turns: Sequence[ChatMessage], settings: Settings) -> None:
    """A 422 unless the conversation ends with a user turn, within the limits
    of FMT_CONVERSATION__MAX_TURNS and __MAX_CHARS."""
    limits = settings.conversation
    if not turns:
        raise InvalidRequest("messages: at least one message is required")
    if len(turns) > limits.max_turns:
        raise InvalidRequest(
            f"messages: {len(turns)} messages, at most {limits.max_turns} are accepted "
            "(FMT_CONVERSATION__MAX_TURNS); send the recent turns only"
        )
    characters = sum(len(turn.content) for turn in turns)
    if characters > limits.max_chars:
        raise InvalidRequest(
            f"messages: {characters} characters in all, at most {limits.max_chars} are accepted "
            "(FMT_CONVERSATION__MAX_CHARS); send the recent turns only"
        )
    if turns[-1].role != "user":
        raise InvalidRequest(
            f"messages: the last message must be the user's question (got {turns[-1].role!r})"
        )


def conversation_query(
    turns: Sequence[ChatMessage],
    settings: Settings,
    *,
    top_k: int | None = None,
    max_tokens: int | None = None,
    temperature: float | None = None,
    top_p: float | None = None,
    stop: Sequence[str] = (),
) -> StrategyQuery:
    """The query for a conversation (a single question is a conversation of one user turn):
    its last turn is the question, the turns before it the history; overrides over settings."""
    check_conversation(turns, settings)
    return StrategyQuery(
        question=turns[-1].content,
        top_k=top_k or settings.retrieval.top_k,
        params=GenerationParams(
            max_tokens=max_tokens or settings.generation.max_tokens,
            temperature=settings.generation.temperature if temperature is None else temperature,
            top_p=top_p,
            stop=tuple(stop),
        ),
        history=tuple(turns[:-1]),
    )
