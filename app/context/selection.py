"""Keep the sentences of the retrieved passages most relevant to the question, within a budget."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from app.context.prompts import CONTEXT_SEPARATOR, format_passage
from app.context.ranking import SpanRanker
from app.context.spans import Span, passage_spans
from app.core.types import Passage

# How a passage is shown when the caller does not say: its header costs tokens of the budget.
HEADED_PASSAGE = "[{index}] {title} ({section}):\n{text}"

RankedPassage = tuple[int, Passage]
"""A passage with its rank in the retrieved list (0 is the best), so sources stay whole."""


def _header_tokens(
    count: Callable[[str], int], passage_template: str, number: int, title: str, section: str | None
) -> int:
    """What showing a passage costs beyond its sentences: the template's text around them
    (nothing for "{text}") and the blank line that parts it from the one before."""
    return count(format_passage(passage_template, number, title, section, "")) + count(
        CONTEXT_SEPARATOR
    )


def _chosen_spans(
    spans: Sequence[Span],
    scores: Sequence[float],
    passages: Sequence[Passage],
    budget_tokens: int,
    count: Callable[[str], int],
    min_relative_score: float,
    passage_template: str,
) -> list[Span]:
    # Best first; a tie goes to the better-ranked passage, then to the earlier sentence.
    order = sorted(
        range(len(spans)), key=lambda i: (-scores[i], spans[i].passage, spans[i].position)
    )
    chosen: list[Span] = []
    opened: set[int] = set()
    seen: set[str] = set()
    used = 0
    # When no sentence shares anything with the question (words only, and the question is
    # phrased unlike the catalog) the retriever's order is all there is to go by.
    best = max(scores, default=0.0)
    related_only = best > 0
    for index in order:
        span = spans[index]
        if related_only and scores[index] <= max(0.0, best * min_relative_score):
            break  # far less related than the best sentence: a small model is misled by it
        if span.text in seen:
            continue  # neighbouring chunks overlap: the same sentence once is enough
        cost = count(span.text) + 1
        if span.passage not in opened:
            passage = passages[span.passage]
            number = span.passage + 1
            cost += _header_tokens(count, passage_template, number, passage.title, passage.section)
        if used + cost > budget_tokens:
            continue  # a shorter, less relevant sentence may still fit
        chosen.append(span)
        seen.add(span.text)
        opened.add(span.passage)
        used += cost
    return chosen


def select_sentences(
    question: str,
    passages: Sequence[Passage],
    ranker: SpanRanker,
    budget_tokens: int,
    count: Callable[[str], int],
    min_relative_score: float = 0.0,
    one_product: bool = False,
    passage_template: str = HEADED_PASSAGE,
) -> list[RankedPassage]:
    """The passages that keep at least one sentence, in rank order, each holding only its kept
    sentences in their original order (blocking when the ranker embeds). A sentence scoring
    `min_relative_score` of the best one or less is left out even when the budget has room;
    with `one_product`, so is every sentence of another product than the best passage's.
    `passage_template` is how the prompt shows a passage: its header is charged to the budget."""
    spans = passage_spans(passages)
    if one_product and passages:
        # The retriever's best passage names the product: it judged whole passages, which
        # tell products apart better than single sentences do.
        spans = [span for span in spans if passages[span.passage].title == passages[0].title]
    if not spans:
        return []
    titles = [passages[span.passage].title for span in spans]
    scores = ranker.score_list(question, [span.text for span in spans], titles)
    chosen = _chosen_spans(
        spans, scores, passages, budget_tokens, count, min_relative_score, passage_template
    )
    by_passage: dict[int, list[Span]] = {}
    for span in sorted(chosen, key=lambda span: (span.passage, span.position)):
        by_passage.setdefault(span.passage, []).append(span)
    return [
        (rank, _with_text(passages[rank], " ".join(span.text for span in kept)))
        for rank, kept in sorted(by_passage.items())
    ]


def _with_text(passage: Passage, text: str) -> Passage:
    # A passage whose every sentence is kept stays as it is: `replace` is costly per request.
    return passage if text == passage.text else replace(passage, text=text)
