"""The product lexicon and follow-up resolution: a plain function, tested without a retriever."""

from __future__ import annotations

import pytest

from app.core.types import ChatMessage
from app.retrievers.follow_up import SearchQuery, resolve_follow_up
from app.retrievers.products import ProductLexicon

PRESS = "Kestrel KX-420 Hydraulic Press"
LATHE = "Torvik TL-1600 CNC Lathe"
DRILL = "Quillon QD-40 Geared Drill Press"
PROXIMITY = "Halden HP-30 Inductive Proximity Sensor"
VIBRATION = "Granite GV-5 Wireless Vibration Sensor"
LEXICON = ProductLexicon([PRESS, LATHE, DRILL, PROXIMITY, VIBRATION])


def user(text: str) -> ChatMessage:
    return ChatMessage("user", text)


def assistant(text: str) -> ChatMessage:
    return ChatMessage("assistant", text)


@pytest.mark.parametrize(
    ("text", "products"),
    [
        ("What pressure does the Kestrel KX-420 Hydraulic Press reach?", [PRESS]),
        ("my kx420 leaks", [PRESS]),
        ("Is the KX 420 rated for 420 kN?", [PRESS]),
        ("Tell me about the TL-1600.", [LATHE]),
        ("How fast does the lathe spin?", [LATHE]),
        ("What oil goes in the Torvik?", [LATHE]),
        ("Which of the drill press and the TL-1600 is heavier?", [DRILL, LATHE]),
        # "press" and "sensor" are shared by two products each: they name neither
        ("How often is the press oil changed?", []),
        ("Which sensor should I buy?", []),
        # a kind word names a product only after a determiner
        ("Can a lathe cut threads?", []),
        ("How often is its hydraulic oil changed?", []),
        ("And E-33?", []),
    ],
)
def test_the_lexicon_finds_the_products_a_text_names(text: str, products: list[str]) -> None:
    assert LEXICON.named_in(text) == products


def test_a_question_naming_a_product_is_searched_as_it_is() -> None:
    question = "How often is the TL-1600's hydraulic oil changed?"
    assert resolve_follow_up(LEXICON, question) == SearchQuery(question, (LATHE,))


def test_a_follow_up_is_resolved_to_the_product_of_the_earlier_turns() -> None:
    history = [
        user("What spindle speed does the Torvik TL-1600 reach?"),
        assistant("Up to 3,000 rpm with the standard chuck."),
    ]

    query = resolve_follow_up(LEXICON, "How often is its hydraulic oil changed?", history)

    assert query == SearchQuery("How often is its hydraulic oil changed? TL-1600", (LATHE,))


def test_and_an_error_code_follows_the_product_of_the_conversation() -> None:
    history = [
        user("My KX-420 shows E-21. What does that mean?"),
        assistant("Set pressure was not reached within 8 s."),
    ]

    query = resolve_follow_up(LEXICON, "And E-33?", history)

    assert query == SearchQuery("And E-33? KX-420", (PRESS,))


def test_a_later_turn_naming_another_product_switches_to_it() -> None:
    history = [
        user("What does E-21 mean on the KX-420?"),
        assistant("Set pressure was not reached within 8 s."),
        user("And what is the TL-1600's spindle bore?"),
        assistant("82 mm."),
    ]

    assert resolve_follow_up(LEXICON, "How heavy is it?", history).products == (LATHE,)
    switched = resolve_follow_up(LEXICON, "What about the drill press?", history)
    assert switched.products == (DRILL,)


def test_the_assistant_s_reply_names_the_product_when_the_user_did_not() -> None:
    history = [
        user("Which of your machines turns shafts?"),
        assistant("The Torvik TL-1600 CNC Lathe."),
    ]

    assert resolve_follow_up(LEXICON, "How long a shaft?", history).products == (LATHE,)


def test_the_user_s_own_words_come_before_the_assistant_s() -> None:
    history = [
        user("Does the drill press need a foundation?"),
        assistant("No; unlike the KX-420 it stands on its own feet."),
    ]

    assert resolve_follow_up(LEXICON, "How heavy is it?", history).products == (DRILL,)


def test_a_conversation_naming_no_product_leaves_the_question_alone() -> None:
    history = [user("Hello"), assistant("Hello! Ask me about the catalog.")]

    assert resolve_follow_up(LEXICON, "What do you sell?", history) == SearchQuery(
        "What do you sell?"
    )


def test_an_empty_lexicon_resolves_nothing() -> None:
    history = [user("Tell me about the TL-1600.")]
    assert resolve_follow_up(ProductLexicon([]), "And its oil?", history) == SearchQuery(
        "And its oil?"
    )


def test_a_product_without_a_model_code_is_searched_by_its_name() -> None:
    lexicon = ProductLexicon(["Aurora Bench Grinder"])
    history = [user("Does the Aurora Bench Grinder take 200 mm wheels?")]

    query = resolve_follow_up(lexicon, "And its speed?", history)

    assert query == SearchQuery("And its speed? Aurora Bench Grinder", ("Aurora Bench Grinder",))


def test_a_question_that_only_names_another_product_asks_the_previous_question_of_it() -> None:
    history = [
        user("How often is the hydraulic oil changed on the Torvik TL-1600?"),
        assistant("Every 2,000 hours."),
    ]

    query = resolve_follow_up(LEXICON, "And on the Kestrel press?", history)

    assert query == SearchQuery(
        "And on the Kestrel press? how often is the hydraulic oil changed on the", (PRESS,)
    )


def test_the_previous_question_is_the_last_one_with_words_of_its_own() -> None:
    history = [
        user("What does the TL-1600 weigh?"),
        assistant("3,200 kg."),
        user("And the KX-420?"),
        assistant("2,450 kg."),
    ]

    query = resolve_follow_up(LEXICON, "What about the drill press?", history)

    assert query == SearchQuery("What about the drill press? what does the weigh", (DRILL,))


@pytest.mark.parametrize(
    "question",
    [
        "What about the Kestrel press, how long do I wait before opening a fitting?",
        "And the KX-420's rated force?",
    ],
)
def test_a_switch_of_product_with_words_of_its_own_is_searched_as_it_is(question: str) -> None:
    history = [user("How often is the hydraulic oil changed on the TL-1600?")]

    assert resolve_follow_up(LEXICON, question, history) == SearchQuery(question, (PRESS,))


def test_a_first_question_that_only_names_a_product_is_searched_as_it_is() -> None:
    assert resolve_follow_up(LEXICON, "The KX-420?") == SearchQuery("The KX-420?", (PRESS,))
