"""Atomic facts to check an answer against: the figures of a catalog fact, matched as the eval does.

A catalog fact's figures (numbers and codes: 4,000, 22.5, E-21, PG2) are what a closed-book answer
can get right or wrong without doubt; each is one atomic fact. Matching is the eval runner's own
(`eval.metrics.facts.mentions`: case, thousands separators, "PG 2" and "PG2" alike), so a fact
counted here is counted the same by `make eval`.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from eval.metrics.facts import Fact, mentions, tokens
from infra.finetune.catalog_qa import CatalogFact, paraphrases

# A number or code as catalogs write them: 5, 0.7, 1,000, E-21, PG2, AR-BP4.
_FIGURE = re.compile(r"[A-Za-z]*-?[0-9][0-9.,]*[0-9A-Za-z]*")


def figures(text: str) -> set[str]:
    """The numbers and codes written in `text`, as written."""
    return {found.rstrip(".,") for found in _FIGURE.findall(text) if found.rstrip(".,")}


def _canonical(figure: str) -> str:
    return " ".join(tokens(figure))


def invented_figures(answer: str, known: Sequence[str]) -> list[str]:
    """Figures of `answer` stated by none of the `known` texts (the question, its references),
    matched as facts are ("4000" is in "4,000 hours", "PG 2" in "gauge PG2")."""
    return sorted(
        figure for figure in figures(answer) if not any(mentions(text, (figure,)) for text in known)
    )


def states(answer: str, fact: Fact) -> bool:
    """Whether `answer` states the fact, in any of its phrasings (the eval's matching)."""
    return mentions(answer, fact)


@dataclass(frozen=True, slots=True)
class FactProbe:
    """A question about one catalog fact that training never asked, and the figures it must give."""

    question: str
    reference: str
    facts: tuple[str, ...]
    product: str


def probe_for(
    fact: CatalogFact, trained_paraphrases: int, seed: int, products: Collection[str] = ()
) -> FactProbe | None:
    """The fact asked by its first paraphrase not trained on; its figures that the question does
    not give away. None when the fact has no such figure or every paraphrase was trained."""
    questions = paraphrases(fact, seed, products)
    if len(questions) <= trained_paraphrases:
        return None
    question = questions[trained_paraphrases]
    given = {_canonical(figure) for figure in figures(question)}
    wanted = tuple(
        sorted(figure for figure in figures(fact.text) if _canonical(figure) not in given)
    )
    if not wanted:
        return None
    return FactProbe(question, fact.text, wanted, fact.product)


def probes(facts: Sequence[CatalogFact], trained_paraphrases: int, seed: int) -> list[FactProbe]:
    """A probe for each fact that has one; `facts` is the whole catalog, whose product names
    decide the short names that the paraphrases use."""
    products = {fact.product for fact in facts}
    return [
        probe
        for fact in facts
        if (probe := probe_for(fact, trained_paraphrases, seed, products)) is not None
    ]


def recall(answers: Sequence[str], checked: Sequence[FactProbe]) -> tuple[int, int]:
    """Figures stated, of all the probes' figures."""
    found = sum(
        states(answer, (figure,))
        for answer, probe in zip(answers, checked, strict=True)
        for figure in probe.facts
    )
    return found, sum(len(probe.facts) for probe in checked)
