"""The question set: loading, validation, identity of each question and of the whole file."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from eval.contract import ChatTurn, answer_request
from eval.metrics.facts import Fact

_TURNS = TypeAdapter(list[ChatTurn])


class QuestionSetError(ValueError):
    """The test set file is missing or not in the expected shape."""


@dataclass(frozen=True, slots=True)
class EvalQuestion:
    """One question with its ground-truth answer; `product_name` names the gold product.

    A conversation (`messages`, ending with the user's turn) is asked as it is; its `question`
    is then the whole conversation as text, which is what a judge and a reader need to see.
    """

    index: int
    question: str
    answer: str
    product_name: str = ""
    section: str = ""
    must_mention: tuple[Fact, ...] = ()
    messages: tuple[ChatTurn, ...] = ()

    def request_body(self) -> dict[str, Any]:
        return answer_request(self.question, list(self.messages) if self.messages else None)

    @property
    def question_id(self) -> str:
        """Stable across runs: position plus a hash of the text, so an edited file never matches."""
        digest = hashlib.sha256(f"{self.question}\n{self.answer}".encode()).hexdigest()[:12]
        return f"{self.index:05d}-{digest}"


def must_mention_facts(index: int, value: object) -> tuple[Fact, ...]:
    """`must_mention`: a list whose entries are a phrase or a list of alternative phrasings."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise QuestionSetError(f"item {index}: 'must_mention' must be a list")
    facts = []
    for entry in value:
        phrasings = [entry] if isinstance(entry, str) else entry
        if (
            not isinstance(phrasings, list)
            or not phrasings
            or not all(isinstance(p, str) and p.strip() for p in phrasings)
        ):
            raise QuestionSetError(
                f"item {index}: each 'must_mention' entry is a phrase or a list of phrases"
            )
        facts.append(tuple(p.strip() for p in phrasings))
    return tuple(facts)


def transcript(messages: tuple[ChatTurn, ...]) -> str:
    """A conversation as text, one `role: content` line per turn."""
    return "\n".join(f"{turn.role}: {turn.content.strip()}" for turn in messages)


def _messages(index: int, value: object) -> tuple[ChatTurn, ...]:
    """`messages`: OpenAI-style turns ending with the user's, as the service requires."""
    try:
        turns = tuple(_TURNS.validate_python(value))
    except ValidationError as error:
        raise QuestionSetError(
            f"item {index}: 'messages' must be a list of {{role, content}}: {error}"
        ) from error
    if not turns or turns[-1].role != "user":
        raise QuestionSetError(f"item {index}: 'messages' must end with a user turn")
    return turns


def _question_from(index: int, item: object) -> EvalQuestion:
    if not isinstance(item, dict):
        raise QuestionSetError(f"item {index} is not an object")
    if ("messages" in item) == ("question" in item):
        raise QuestionSetError(f"item {index} needs exactly one of 'question' and 'messages'")
    messages = _messages(index, item["messages"]) if "messages" in item else ()
    question = transcript(messages) if messages else item.get("question")
    answer = item.get("answer", item.get("ground_truth"))
    if not isinstance(question, str) or not question.strip():
        raise QuestionSetError(f"item {index} has no 'question' text")
    if not isinstance(answer, str) or not answer.strip():
        raise QuestionSetError(f"item {index} has no 'answer' text")
    return EvalQuestion(
        index=index,
        question=question.strip(),
        answer=answer.strip(),
        product_name=str(item.get("product_name") or ""),
        section=str(item.get("section") or ""),
        must_mention=must_mention_facts(index, item.get("must_mention")),
        messages=messages,
    )


def load_testset(path: Path, limit: int | None = None) -> list[EvalQuestion]:
    """Read a JSON list (or JSON lines) of {question | messages, answer, product_name?,
    section?, must_mention?}."""
    if not path.is_file():
        raise QuestionSetError(f"test set {path} does not exist")
    text = path.read_text(encoding="utf-8")
    try:
        items = json.loads(text)
    except json.JSONDecodeError:
        try:
            items = [json.loads(line) for line in text.splitlines() if line.strip()]
        except json.JSONDecodeError as error:
            raise QuestionSetError(f"{path} is neither JSON nor JSON lines: {error}") from error
    if isinstance(items, dict) and isinstance(items.get("questions"), list):
        items = items["questions"]
    if not isinstance(items, list) or not items:
        raise QuestionSetError(f"{path} holds no questions")
    questions = [_question_from(index, item) for index, item in enumerate(items)]
    return questions[:limit] if limit else questions
