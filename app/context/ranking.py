"""How relevant each sentence is to the question: shared words (weighted by rarity) and MiniLM."""

from __future__ import annotations

import math
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from app.core.embeddings import SentenceEncoder

Scores = npt.NDArray[np.float64]

# Codes and part numbers ("E-21", "KX-420", "4,000") stay whole: they are what answers hinge on.
_TERMS = re.compile(r"[a-z0-9]+(?:[-.,/][a-z0-9]+)*")
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "at",
        "be",
        "by",
        "can",
        "do",
        "does",
        "for",
        "from",
        "how",
        "i",
        "in",
        "is",
        "it",
        "of",
        "on",
        "or",
        "the",
        "to",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "with",
        "my",
        "me",
        "we",
        "you",
        "your",
        "our",
        "this",
        "that",
        "there",
        "these",
        "those",
        "should",
        "much",
        "many",
    ]
)
SPAN_VECTOR_CACHE = 8192
SPAN_TERMS_CACHE = 8192
# A code, model number or figure named in the question ("E-21", "KX-420", "8 s") is what the
# answer hinges on: it weighs as much as this many ordinary words.
CODE_WEIGHT = 3.0
# A sentence naming codes ("E-07", "SW1-3") but none of the codes the question names is about
# something else ("E-07 means ..." for a question about E-21), however many words it shares.
OTHER_CODE_FACTOR = 0.5


_SUFFIXES = ("ing", "ed", "es", "s", "e")
# Terms are lower-case ASCII letters, digits and the joiners of `_TERMS`.
_DIGIT = re.compile(r"[0-9]")
_LETTER = re.compile(r"[a-z]")


def _stem(term: str) -> str:
    """`changed`, `changes`, `change` -> `chang`: enough for a question and a catalog to meet."""
    if _DIGIT.search(term):
        return term
    for suffix in _SUFFIXES:
        if term.endswith(suffix) and len(term) - len(suffix) >= 3:
            return term[: -len(suffix)]
    return term


def _is_code(term: str) -> bool:
    """Letters and digits in one term: a fault code, part or model number, not a bare figure."""
    return _DIGIT.search(term) is not None and _LETTER.search(term) is not None


def _content_term(term: str) -> str:
    return "" if term in _STOPWORDS else _stem(term)


def terms(text: str) -> list[str]:
    """Lower-case, stemmed content words and codes of `text`, stopwords left out."""
    return [term for term in map(_content_term, _TERMS.findall(text.lower())) if term]


def _code_factor(term: str) -> float:
    return CODE_WEIGHT if _DIGIT.search(term) else 1.0


def _term_set(text: str) -> frozenset[str]:
    return frozenset(terms(text))


SentenceTerms = tuple[frozenset[str], frozenset[str], bool]


def _sentence_terms(sentence: str, title: str) -> SentenceTerms:
    """The sentence's terms beyond its product title's, the title's, and whether the sentence
    names a code (fault code, part number) other than the title's."""
    own = frozenset(terms(title))
    beyond_title = frozenset(terms(sentence)) - own
    return beyond_title, own, any(_is_code(term) for term in beyond_title)


class LexicalScorer:
    """Share of the question's terms found in each sentence, each term weighted by how rare it
    is among these sentences (a product code in every sentence tells nothing apart), codes more
    than words. Terms of a sentence's own passage title (its product) do not count: every
    sentence of that product would match them (and the retriever already chose the product).

    Catalog sentences come back request after request: their terms are kept (bounded, least
    recently used out), by this scorer, for as long as it lives."""

    def __init__(self, cache_size: int = SPAN_TERMS_CACHE) -> None:
        self._sentence_terms = lru_cache(maxsize=cache_size)(_sentence_terms)
        # The eval and /compare ask a question more than once.
        self._question_terms = lru_cache(maxsize=cache_size)(_term_set)

    def scores(
        self, question: str, sentences: Sequence[str], titles: Sequence[str] | None = None
    ) -> Scores:
        return np.array(self.shares(question, sentences, titles), dtype=np.float64)

    def shares(
        self, question: str, sentences: Sequence[str], titles: Sequence[str] | None
    ) -> list[float]:
        wanted = set(self._question_terms(question))
        if not wanted or not sentences:
            return [0.0] * len(sentences)
        own_titles = titles if titles is not None else [""] * len(sentences)
        described = [
            self._sentence_terms(sentence, title)
            for sentence, title in zip(sentences, own_titles, strict=True)
        ]
        return _shares(wanted, described)


def _shares(wanted: set[str], described: Sequence[SentenceTerms]) -> list[float]:
    found = [beyond_title & wanted for beyond_title, _, _ in described]
    frequency: dict[str, int] = {}
    for matched in found:
        for term in matched:
            frequency[term] = frequency.get(term, 0) + 1
    count = len(described)
    weight = {
        term: math.log(1.0 + count / (1.0 + frequency.get(term, 0))) * _code_factor(term)
        for term in wanted
    }
    # Out of what the question asks beyond the sentence's own product: one sum per product.
    asked: dict[frozenset[str], float] = {}
    asked_codes = {term for term in wanted if _is_code(term)}
    scores: list[float] = []
    for matched, (_, own, names_codes) in zip(found, described, strict=True):
        total = asked.get(own)
        if total is None:
            total = asked[own] = sum(weight[term] for term in wanted - own)
        score = sum(weight[term] for term in matched) / total if total else 0.0
        if names_codes and asked_codes - own and not matched & asked_codes:
            score *= OTHER_CODE_FACTOR
        scores.append(score)
    return scores


def lexical_scores(
    question: str, sentences: Sequence[str], titles: Sequence[str] | None = None
) -> Scores:
    """`LexicalScorer.scores` once, nothing kept."""
    return LexicalScorer(cache_size=0).scores(question, sentences, titles)


class DenseScorer:
    """Cosine similarity of question and sentences; catalog sentences repeat across requests,
    so their vectors are kept (least recently used out)."""

    def __init__(self, encoder: SentenceEncoder, cache_size: int = SPAN_VECTOR_CACHE) -> None:
        self._encoder = encoder
        self._cache: OrderedDict[str, npt.NDArray[np.float32]] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def scores(self, question: str, sentences: Sequence[str]) -> Scores:
        with self._lock:
            return self._scores(question, sentences)

    def _scores(self, question: str, sentences: Sequence[str]) -> Scores:
        missing = [text for text in dict.fromkeys(sentences) if text not in self._cache]
        vectors = self._encoder.encode([question, *missing])
        for text, vector in zip(missing, vectors[1:], strict=True):
            self._cache[text] = vector
        for text in sentences:
            self._cache.move_to_end(text)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        if not sentences:
            return np.zeros(0)
        matrix = np.stack([self._cache[text] for text in sentences])
        return np.asarray(matrix @ vectors[0], dtype=np.float64)


def _spread(similarities: Scores) -> Scores:
    """Cosine similarities rescaled to 0 (the median sentence here, or less) .. 1 (the most
    similar): MiniLM gives every catalog sentence 0.2 to 0.6, which would drown the lexical
    share's differences."""
    if similarities.size == 0:
        return similarities
    typical, high = float(np.median(similarities)), float(similarities.max())
    if high - typical < 1e-6:
        return np.zeros_like(similarities)
    return np.clip((similarities - typical) / (high - typical), 0.0, 1.0)


class SpanRanker:
    """Scores sentences against a question: lexical always, dense when an encoder is given."""

    def __init__(
        self,
        dense: DenseScorer | None,
        dense_weight: float = 1.0,
        lexical_weight: float = 1.0,
    ) -> None:
        self.dense = dense
        self.lexical = LexicalScorer()
        self.dense_weight = dense_weight
        self.lexical_weight = lexical_weight

    def scores(
        self, question: str, sentences: Sequence[str], titles: Sequence[str] | None = None
    ) -> Scores:
        """One score per sentence, higher is more relevant (blocking when dense); `titles` are
        the titles of the sentences' passages."""
        combined = self.lexical_weight * self.lexical.scores(question, sentences, titles)
        if self.dense is not None and self.dense_weight > 0:
            combined = combined + self.dense_weight * _spread(
                self.dense.scores(question, sentences)
            )
        return combined

    def score_list(
        self, question: str, sentences: Sequence[str], titles: Sequence[str] | None = None
    ) -> list[float]:
        """`scores` as floats; ranked by words only, without arrays (the same products)."""
        if self.dense is not None and self.dense_weight > 0:
            return [float(score) for score in self.scores(question, sentences, titles)]
        weight = self.lexical_weight
        return [weight * share for share in self.lexical.shares(question, sentences, titles)]
