"""Earlier turns of a conversation in a prompt: the most recent that fit, oldest dropped first."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from app.core.types import ChatMessage

PromptCounter = Callable[[Sequence[ChatMessage]], int]


def alternating(turns: Sequence[ChatMessage]) -> list[ChatMessage]:
    """User and assistant turns, one after the other: consecutive turns of one role are joined
    (chat templates and Converse refuse two in a row), system turns left out."""
    merged: list[ChatMessage] = []
    for turn in turns:
        if turn.role == "system":
            continue
        if merged and merged[-1].role == turn.role:
            merged[-1] = ChatMessage(turn.role, f"{merged[-1].content}\n\n{turn.content}")
        else:
            merged.append(turn)
    return merged


def with_history(
    messages: Sequence[ChatMessage],
    history: Sequence[ChatMessage],
    max_turns: int,
    fits: Callable[[Sequence[ChatMessage]], bool] | None = None,
) -> tuple[list[ChatMessage], int]:
    """`messages` (the strategy's prompt: system messages, then the question's user message) with
    the most recent earlier turns placed before the question, and how many were placed.

    At most `max_turns` turns, fewer while `fits` says the prompt would not fit; the kept turns
    start with a user turn, as chat templates expect.
    """
    earlier = alternating(history)
    if earlier and earlier[-1].role == "user":
        earlier.pop()  # two user turns in a row: the question already stands for the last one
    head = [message for message in messages if message.role == "system"]
    tail = [message for message in messages if message.role != "system"]
    kept: list[ChatMessage] = []
    for turn in reversed(earlier[-max_turns:] if max_turns > 0 else []):
        candidate = [turn, *kept]
        if fits is not None and not fits([*head, *candidate, *tail]):
            break
        kept = candidate
    while kept and kept[0].role != "user":
        kept.pop(0)
    return [*head, *kept, *tail], len(kept)
