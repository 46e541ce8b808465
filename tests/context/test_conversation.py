"""Earlier turns in the prompt: the most recent that fit, oldest dropped first."""

from __future__ import annotations

from collections.abc import Sequence

from app.context.conversation import alternating, with_history
from app.core.types import ChatMessage

SYSTEM = ChatMessage("system", "You are a product support assistant.")
QUESTION = ChatMessage("user", "Question: how often is its oil changed?\n\nCatalog excerpt: ...")
HISTORY = [
    ChatMessage("user", "first question"),
    ChatMessage("assistant", "first answer"),
    ChatMessage("user", "second question"),
    ChatMessage("assistant", "second answer"),
]


def test_the_earlier_turns_go_between_the_system_prompt_and_the_question() -> None:
    messages, kept = with_history([SYSTEM, QUESTION], HISTORY, max_turns=10)

    assert messages == [SYSTEM, *HISTORY, QUESTION]
    assert kept == 4


def test_at_most_max_turns_the_most_recent_and_starting_with_a_user_turn() -> None:
    messages, kept = with_history([SYSTEM, QUESTION], HISTORY, max_turns=3)

    # The 3 most recent are assistant, user, assistant: the leading assistant turn goes too.
    assert messages == [SYSTEM, *HISTORY[2:], QUESTION]
    assert kept == 2


def test_turns_that_do_not_fit_are_dropped_oldest_first() -> None:
    def fits(messages: Sequence[ChatMessage]) -> bool:
        return len(messages) <= 4

    messages, kept = with_history([SYSTEM, QUESTION], HISTORY, max_turns=10, fits=fits)

    assert messages == [SYSTEM, *HISTORY[2:], QUESTION]
    assert kept == 2


def test_no_room_keeps_the_prompt_as_it_was() -> None:
    messages, kept = with_history([SYSTEM, QUESTION], HISTORY, 10, fits=lambda _m: False)

    assert messages == [SYSTEM, QUESTION]
    assert kept == 0


def test_system_turns_are_left_out_and_turns_of_one_role_in_a_row_are_joined() -> None:
    turns = [
        ChatMessage("system", "Be brief."),
        ChatMessage("user", "one"),
        ChatMessage("user", "two"),
        ChatMessage("assistant", "reply"),
    ]

    assert alternating(turns) == [
        ChatMessage("user", "one\n\ntwo"),
        ChatMessage("assistant", "reply"),
    ]
