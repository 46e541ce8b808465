"""Question/answer pairs derived from the catalog alone: one per fact, the fact as the answer.

A domain fine-tune on raw chunks teaches the model to recite sections; users ask short questions
and expect one precise sentence. These pairs teach that mapping with no labelled data: every
sentence (or list item) of the catalog becomes an answer, and the questions are built from its
shape (`question_shapes`).
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path

from app.catalog import Section, read_sections
from infra.finetune.measures import CODE
from infra.finetune.question_shapes import LABEL, is_instruction, shape_of

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
_CLAUSE_END = re.compile(r";\s+")
_CODE_ITEM = re.compile(rf"(?:^|[,;:]\s+)(?:and\s+)?(?=({CODE})\s+(?:is|means)\s)")
_LIST_ITEM = re.compile(r",\s+(?:and\s+)?(?=(?:re-)?([a-z]+)\b)")


@dataclass(frozen=True, slots=True)
class CatalogFact:
    product: str
    section: str
    text: str


@dataclass(frozen=True, slots=True)
class QuestionAnswer:
    question: str
    fact: CatalogFact

    @property
    def answer(self) -> str:
        return self.fact.text


def _sentences(text: str) -> Iterator[str]:
    for sentence in _SENTENCE_END.split(" ".join(text.split())):
        if sentence.strip():
            yield sentence.strip()


def _code_items(sentence: str) -> list[str]:
    """`E-07 means ..., E-14 means ... and E-21 means ...` as one item per code; else []."""
    body = sentence.rstrip(".")
    starts = [match.start(1) for match in _CODE_ITEM.finditer(body)]
    if len(starts) < 2:
        return []
    bounds = [*starts, len(body)]
    items = []
    for start, end in itertools.pairwise(bounds):
        item = body[start:end].rstrip(" ,;:")
        items.append(re.sub(r",?\s+and$", "", item))
    return items


def _instruction_items(sentence: str) -> list[str]:
    """`Maintenance: check ..., replace ... every 1,000 hours, and re-check ...` as one item per
    instruction (each at least three words); else []."""
    labelled = LABEL.match(sentence.rstrip("."))
    if labelled is None or not is_instruction(labelled.group("rest")):
        return []
    body = labelled.group("rest")
    starts = [0] + [
        match.start() for match in _LIST_ITEM.finditer(body) if is_instruction(match.group(1))
    ]
    if len(starts) < 2:
        return []
    items = []
    for start, end in itertools.pairwise([*starts, len(body)]):
        items.append(re.sub(r"^,\s+(?:and\s+)?", "", body[start:end]))
    return items if all(len(item.split()) >= 3 for item in items) else []


def _facts_of(section: Section) -> Iterator[CatalogFact]:
    for sentence in _sentences(section.text):
        if sentence.lower().startswith("product id:"):
            continue
        items = _code_items(sentence) or _instruction_items(sentence)
        if not items:
            items = [clause for clause in _CLAUSE_END.split(sentence) if len(clause.split()) >= 4]
            if len(items) < 2:
                items = [sentence]
        for item in items:
            text = item if item.endswith((".", "!", "?")) else f"{item}."
            yield CatalogFact(section.product, section.title, text[0].upper() + text[1:])


def catalog_facts(catalog: Path) -> list[CatalogFact]:
    """Every sentence of the catalog, with lists of codes and `;` clauses split into items."""
    return [fact for section in read_sections(catalog) for fact in _facts_of(section)]


def product_references(product: str, products: Collection[str] = ()) -> tuple[str, ...]:
    """How a user names a product: in full, by model code, by its kind ("my hydraulic press"),
    and by the shortest end of its kind that none of the catalog's other `products` shares ("the
    welder"; "the drill press" where a hydraulic press is also sold, never an ambiguous "the
    press")."""
    code, kind = _code_and_kind(product)
    if code is None:
        return (f"the {product}",)
    references = [f"the {product}", f"the {code}"]
    if kind:
        references.append(f"my {' '.join(kind)}")
        others = [_code_and_kind(other)[1] for other in products if other != product]
        for length in range(1, len(kind) + 1):
            short = kind[-length:]
            if any(other[-length:] == short for other in others):
                continue
            references.append(f"the {' '.join(short)}")
            if length < len(kind):
                references.append(f"my {' '.join(short)}")
            break
    return tuple(references)


def _code_and_kind(product: str) -> tuple[str | None, list[str]]:
    """The model code (the first word with a digit) and the lowercased words after it."""
    words = product.split()
    code = next((word for word in words if any(char.isdigit() for char in word)), None)
    if code is None:
        return None, []
    return code, [word.lower() for word in words[words.index(code) + 1 :]]


def _fill(frame: str, reference: str, slots: dict[str, str]) -> str:
    text = frame.format(ref=reference, Ref=reference[0].upper() + reference[1:], **slots)
    return text[0].upper() + text[1:]


def paraphrases(fact: CatalogFact, seed: int = 0, products: Collection[str] = ()) -> list[str]:
    """Every question the templates ask about the fact, distinct, in a seeded order that walks
    frames and product names together (the first few already vary both). `products` are the
    catalog's product names, which decide the short names that are not ambiguous."""
    frames, slots = shape_of(fact.text, fact.product, fact.section)
    references = product_references(fact.product, products)
    digest = hashlib.sha256(f"{seed}:{fact.product}:{fact.text}".encode()).digest()
    first_frame, first_reference = digest[1] % len(frames), digest[0] % len(references)
    questions: list[str] = []
    for offset in range(len(frames) * len(references)):
        frame = frames[(first_frame + offset) % len(frames)]
        turn = offset // len(frames) + offset
        reference = references[(first_reference + turn) % len(references)]
        question = _fill(frame, reference, slots)
        if question not in questions:
            questions.append(question)
    return questions


def question_for(fact: CatalogFact, reference: str) -> str:
    """A question the fact answers, naming the product as `reference` does."""
    frames, slots = shape_of(fact.text, fact.product, fact.section)
    return _fill(frames[0], reference, slots)


def catalog_qa(catalog: Path, seed: int = 0) -> list[QuestionAnswer]:
    """One pair per fact; which way the product is named rotates by a seeded hash of the fact."""
    pairs = []
    facts = catalog_facts(catalog)
    products = {fact.product for fact in facts}
    for fact in facts:
        references = product_references(fact.product, products)
        digest = hashlib.sha256(f"{seed}:{fact.product}:{fact.text}".encode()).digest()
        reference = references[digest[0] % len(references)]
        pairs.append(QuestionAnswer(question_for(fact, reference), fact))
    return pairs
