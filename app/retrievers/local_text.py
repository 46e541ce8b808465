"""The text the local retriever indexes for a chunk, and the word tokens BM25 counts."""

from __future__ import annotations

import re

from app.catalog.model import Chunk

# Bumped whenever tokens or indexed text change, so persisted indexes are rebuilt.
TEXT_FORMAT_VERSION = 1

# A word, or a code such as KX-420, E-07, 192.168.0.42 or P08, kept whole.
_TOKEN = re.compile(r"[a-z0-9]+(?:[-./][a-z0-9]+)*")
_PART = re.compile(r"[a-z0-9]+")

# Lucene's English list plus the question words customers type (what, how, my, ...).
STOPWORDS = frozenset(
    (
        "a",
        "about",
        "above",
        "after",
        "again",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "here",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "out",
        "over",
        "own",
        "same",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
    )
)


def indexed_text(chunk: Chunk) -> str:
    """The chunk's text under its product and section, so a question naming either finds it."""
    heading = f"{chunk.product}. {chunk.section}." if chunk.section else f"{chunk.product}."
    return f"{heading}\n{chunk.text}"


def _stem(word: str) -> str:
    # A light plural fold ("pumps" -> "pump", "switches" -> "switch") without a stemming library;
    # codes and short words stay as they are.
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith(("sses", "shes", "ches", "xes")):
        return word[:-2]
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def tokenize(text: str) -> list[str]:
    """Lower-cased words minus stopwords; a code is kept whole and also split into its parts."""
    tokens: list[str] = []
    for match in _TOKEN.finditer(text.lower()):
        word = match.group()
        parts = _PART.findall(word)
        if len(parts) > 1:
            tokens.append(word)
            # "E07" in a question should still meet "E-07" in the catalog.
            tokens.append("".join(parts))
            tokens.extend(part for part in parts if part not in STOPWORDS)
        elif word not in STOPWORDS:
            tokens.append(_stem(word))
    return tokens
