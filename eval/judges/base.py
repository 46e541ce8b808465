"""The judge protocol, the grading prompt, and the reading of a judge's reply."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Protocol

GRADING_PROMPT = """You grade one AI-generated answer to a customer's question about a product \
catalog, against the ground-truth answer. Give a score from 0 to 1 using these criteria:
1. Correctness: do the facts, numbers and details match the ground truth?
2. Completeness: does it include the relevant points of the ground truth?
3. Clarity: is it clear and easy to understand?
4. No hallucinations: does it avoid information that is not in the ground truth?

Question: {question}

Ground truth: {ground_truth}

Answer to grade: {answer}

Reply with only a JSON object and nothing else, like {{"score": 0.7, "reason": "one sentence"}}."""

REMINDER = (
    "Your reply could not be read. Reply again with only a JSON object such as "
    '{"score": 0.5, "reason": "one sentence"}, where score is a number from 0 to 1.'
)

_SCORE_PATTERN = re.compile(r"""["']?score["']?\s*[:=]\s*["']?(-?\d+(?:\.\d+)?)""", re.IGNORECASE)


class JudgeCallError(RuntimeError):
    """The judge model could not be called (after its own retries)."""


class Judge(Protocol):
    """A model that completes a single-turn prompt; `name` identifies it in the results."""

    name: str

    async def complete(self, prompt: str) -> str: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Verdict:
    score: float
    reason: str


def grading_prompt(question: str, ground_truth: str, answer: str) -> str:
    return GRADING_PROMPT.format(
        question=question, ground_truth=ground_truth, answer=answer or "(empty answer)"
    )


def _valid_score(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        score = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return score if math.isfinite(score) and 0.0 <= score <= 1.0 else None


def _json_objects(text: str) -> list[dict[str, object]]:
    decoder = json.JSONDecoder()
    found = []
    for match in re.finditer(r"\{", text):
        try:
            value, _ = decoder.raw_decode(text, match.start())
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            found.append(value)
    return found


def parse_verdict(reply: str) -> Verdict | None:
    """The score in a reply: a JSON object first, then a `score: x` phrase; never a guess.

    A score outside [0, 1] is refused rather than rescaled: we cannot know the scale meant.
    """
    for candidate in _json_objects(reply):
        if "score" in candidate:
            score = _valid_score(candidate["score"])
            if score is not None:
                return Verdict(score, str(candidate.get("reason", ""))[:500])
    matches = _SCORE_PATTERN.findall(reply)
    if len(matches) == 1 and (score := _valid_score(matches[0])) is not None:
        return Verdict(score, "")
    return None
