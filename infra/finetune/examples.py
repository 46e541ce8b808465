"""Training examples from a catalog (domain) or a question/answer file (instruct), and the split."""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from app.catalog import chunk_section, read_sections
from app.context.prompts import PromptTemplate
from app.core.types import ChatMessage, Passage
from app.settings import PROJECT_ROOT
from infra.finetune.catalog_qa import CatalogFact, catalog_facts, paraphrases

logger = logging.getLogger(__name__)

EVAL_TEST_SET = PROJECT_ROOT / "data" / "test" / "test.json"
READING_NEIGHBOURS = 2
"""Facts of the same section shown around the answering one (the service's excerpts hold 1-4)."""


@dataclass(frozen=True, slots=True)
class TrainingExample:
    """One example: the prompt (no loss on it) and the text the model must learn to produce."""

    key: str
    prompt: tuple[ChatMessage, ...]
    target: str
    group: str = ""
    """What the held-out split keeps together (a fact's paraphrases); the key when empty."""


@dataclass(frozen=True, slots=True)
class DataSplit:
    train: list[TrainingExample]
    holdout: list[TrainingExample]


class TrainingDataError(ValueError):
    """The training data is missing or malformed."""


def domain_examples(
    catalog: Path, template: PromptTemplate, topic_question: str, chunk_words: int
) -> list[TrainingExample]:
    """Catalog sections cut into chunks; each chunk answers "tell me about <section> of <product>".

    Chunks do not overlap, so a held-out chunk is text the model never saw in training.
    """
    examples = []
    for section in read_sections(catalog):
        for chunk in chunk_section(section, chunk_words, 0):
            question = topic_question.format(
                product=chunk.product, section=chunk.section or "overview"
            )
            examples.append(
                TrainingExample(
                    key=chunk.location, prompt=tuple(template.render(question)), target=chunk.text
                )
            )
    return examples


def catalog_qa_examples(
    catalog: Path,
    template: PromptTemplate,
    seed: int,
    reading: PromptTemplate | None = None,
    reading_share: float = 0.0,
    paraphrase_count: int = 1,
    only: Collection[CatalogFact] | None = None,
) -> list[TrainingExample]:
    """Questions built from the catalog's own sentences, each answered by its sentence.

    Each fact is asked `paraphrase_count` ways (frames and product names, `paraphrases`); the
    answer is always the fact's one sentence. With a `reading` template, a seeded
    `reading_share` of the facts is also asked once through it, with an excerpt holding the
    answer among its section's neighbouring facts: the tuned model also learns to find the
    answer in an excerpt, as the hybrid strategy asks it to. `only` keeps those facts alone.
    """
    everything = catalog_facts(catalog)
    products = {fact.product for fact in everything}
    facts = [fact for fact in everything if only is None or fact in only]
    by_section: dict[tuple[str, str], list[CatalogFact]] = {}
    for fact in facts:
        by_section.setdefault((fact.product, fact.section), []).append(fact)
    examples = []
    for fact in facts:
        group = fact_key(fact)
        questions = paraphrases(fact, seed, products)[:paraphrase_count]
        for index, question in enumerate(questions):
            examples.append(
                TrainingExample(
                    key=f"{group}#{index}",
                    prompt=tuple(template.render(question)),
                    target=fact.text,
                    group=group,
                )
            )
        if reading is not None and _share(seed, group) < reading_share:
            section = by_section[(fact.product, fact.section)]
            prompt = reading.render(questions[0], [_excerpt(fact, section)])
            examples.append(
                TrainingExample(
                    key=f"{group}#reading", prompt=tuple(prompt), target=fact.text, group=group
                )
            )
    return examples


def fact_key(fact: CatalogFact) -> str:
    return f"{fact.product}:{fact.section}:{fact.text}"


def _share(seed: int, key: str) -> float:
    digest = hashlib.sha256(f"reading:{seed}:{key}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32


def _excerpt(fact: CatalogFact, section: Sequence[CatalogFact]) -> Passage:
    """The fact with its neighbours in catalog order, as a retrieved passage."""
    at = section.index(fact)
    start = max(0, min(at - READING_NEIGHBOURS // 2, len(section) - READING_NEIGHBOURS - 1))
    text = " ".join(neighbour.text for neighbour in section[start : start + READING_NEIGHBOURS + 1])
    return Passage(
        id=f"{fact.product}:{fact.section}:{at}",
        title=fact.product,
        text=text,
        score=1.0,
        location=f"{fact.product}/{fact.section}",
        section=fact.section,
    )


def plain_examples(catalog: Path, chunk_words: int) -> list[TrainingExample]:
    """Catalog chunks as raw text headed by product and section, with no prompt."""
    examples = []
    for section in read_sections(catalog):
        for chunk in chunk_section(section, chunk_words, 0):
            heading = f"{chunk.product} - {chunk.section}" if chunk.section else chunk.product
            examples.append(
                TrainingExample(key=chunk.location, prompt=(), target=f"{heading}\n{chunk.text}")
            )
    return examples


def instruct_examples(qa_file: Path, template: PromptTemplate) -> list[TrainingExample]:
    """Question/answer pairs from a JSON list of objects with `question` and `answer`."""
    if qa_file.resolve() == EVAL_TEST_SET.resolve():
        logger.warning(
            "training on the evaluation test set %s: its scores will no longer measure anything",
            qa_file,
        )
    try:
        records = json.loads(qa_file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise TrainingDataError(f"FMT_FINETUNE__LOCAL__QA_FILE {qa_file}: {error}") from error
    if not isinstance(records, list) or not records:
        raise TrainingDataError(f"{qa_file} must hold a non-empty JSON list")
    examples = []
    for index, record in enumerate(records):
        if not isinstance(record, dict) or not {"question", "answer"} <= record.keys():
            raise TrainingDataError(f"{qa_file} item {index} lacks 'question' or 'answer'")
        question, answer = str(record["question"]), str(record["answer"])
        examples.append(
            TrainingExample(
                key=f"{index}:{question}", prompt=tuple(template.render(question)), target=answer
            )
        )
    return examples


def split_examples(
    examples: Sequence[TrainingExample], holdout_fraction: float, seed: int
) -> DataSplit:
    """A held-out share chosen by a seeded hash of each key: stable when examples are reordered."""
    if not examples:
        raise TrainingDataError("no training examples")

    def group(example: TrainingExample) -> str:
        return example.group or example.key

    def rank(name: str) -> str:
        return hashlib.sha256(f"{seed}:{name}".encode()).hexdigest()

    groups = sorted({group(example) for example in examples}, key=rank)
    held_count = math.ceil(len(groups) * holdout_fraction) if holdout_fraction > 0 else 0
    held = set(groups[: min(held_count, len(groups) - 1)])
    return DataSplit(
        train=[example for example in examples if group(example) not in held],
        holdout=[example for example in examples if group(example) in held],
    )
