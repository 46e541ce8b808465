"""What to search for when the last turn of a conversation is a follow-up: its own words plus the
product(s) the conversation is about."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.catalog.naming import product_key
from app.core.types import ChatMessage
from app.retrievers.local_text import tokenize
from app.retrievers.products import ProductLexicon


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """The text to retrieve with, and the products it is about (a retriever may favour them)."""

    text: str
    products: tuple[str, ...] = ()


def _exchanges(history: Sequence[ChatMessage]) -> list[tuple[str, str]]:
    """Earlier turns as (user's words, assistant's replies to them), oldest first."""
    exchanges: list[tuple[str, str]] = []
    for turn in history:
        if turn.role == "user":
            exchanges.append((turn.content, ""))
        elif turn.role == "assistant":
            asked, replied = exchanges.pop() if exchanges else ("", "")
            exchanges.append((asked, f"{replied}\n{turn.content}".strip()))
    return exchanges


def _words_besides(text: str, products: Sequence[str]) -> str:
    """The text's words, less those of the products' names ("and on the" of "And on the Kestrel
    press?")."""
    names = {word for product in products for word in product_key(product).split()}
    return " ".join(word for word in product_key(text).split() if word not in names)


def _topic(lexicon: ProductLexicon, history: Sequence[ChatMessage]) -> str:
    """What the most recent earlier question with words of its own asked, its products left out."""
    for asked, _ in reversed(_exchanges(history)):
        words = _words_besides(asked, lexicon.named_in(asked))
        if tokenize(words):
            return words
    return ""


def resolve_follow_up(
    lexicon: ProductLexicon, question: str, history: Sequence[ChatMessage] = ()
) -> SearchQuery:
    """The search for `question`, the conversation's last user turn, after `history`.

    A question naming a product is searched as it is (a switch of product takes effect at once),
    unless naming it is all the question does ("And on the Kestrel press?"): then it asks what
    the previous question asked, and that question's words, less its product, are added.
    One that names none is about the product(s) of the most recent earlier exchange that named
    any: what the user named there, else what the assistant's reply named. The query becomes the
    question followed by those products' model codes: a whole name would pull the passages that
    repeat it (the description) above the ones the question's own words find.
    """
    named = lexicon.named_in(question)
    if named:
        if not tokenize(_words_besides(question, named)):
            return SearchQuery(f"{question} {_topic(lexicon, history)}".strip(), tuple(named))
        return SearchQuery(question, tuple(named))
    for asked, replied in reversed(_exchanges(history)):
        named = lexicon.named_in(asked) or lexicon.named_in(replied)
        if named:
            short_names = " ".join(lexicon.short_name(product) for product in named)
            return SearchQuery(f"{question} {short_names}", tuple(named))
    return SearchQuery(question)
