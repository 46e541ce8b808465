"""Why an answer missed: facts not retrieved, facts retrieved but not stated, figures invented.

`fact_recall` says a fact is missing; `context_fact_recall` (the same facts looked for in the
text of the sources the service returned) says whether retrieval brought it; the figures of the
answer found in neither the question, the reference nor the sources are counted as invented.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eval.metrics.facts import Fact, mentions
from eval.metrics.figures import supporting_texts, unsupported_figures
from eval.records import SampleRecord

NOT_RETRIEVED = "not retrieved"
NOT_STATED = "retrieved, not stated"
NOT_STATED_NO_SOURCES = "not stated, no retrieval"


@dataclass(frozen=True, slots=True)
class MissedFact:
    fact: Fact
    where: str  # NOT_RETRIEVED, NOT_STATED or NOT_STATED_NO_SOURCES

    @property
    def shown(self) -> str:
        return " / ".join(self.fact)


@dataclass(frozen=True, slots=True)
class AnswerDiagnosis:
    """One answered sample: its facts found in the answer and in the sources, and what it
    invented. `retrieved` is None for a strategy that does not retrieve."""

    sample: SampleRecord
    facts: int
    stated: int
    retrieved: int | None
    missed: tuple[MissedFact, ...]
    invented: tuple[str, ...]

    @property
    def fact_recall(self) -> float | None:
        return self.stated / self.facts if self.facts else None

    @property
    def context_fact_recall(self) -> float | None:
        if not self.facts or self.retrieved is None:
            return None
        return self.retrieved / self.facts

    @property
    def invents(self) -> float:
        """1.0 when the answer states a figure nothing supports: the per-answer value whose
        mean is `unsupported_figure_rate`."""
        return 1.0 if self.invented else 0.0


def diagnose(sample: SampleRecord, facts: Sequence[Fact], retrieves: bool) -> AnswerDiagnosis:
    """`retrieves`: the strategy returns sources (an empty list is then a retrieval miss)."""
    context = "\n".join(source.text for source in sample.sources)
    missed: list[MissedFact] = []
    stated = retrieved = 0
    for fact in facts:
        in_answer = mentions(sample.answer, fact)
        in_context = retrieves and mentions(context, fact)
        stated += in_answer
        retrieved += in_context
        if in_answer:
            continue
        if not retrieves:
            missed.append(MissedFact(fact, NOT_STATED_NO_SOURCES))
        else:
            missed.append(MissedFact(fact, NOT_STATED if in_context else NOT_RETRIEVED))
    supports = supporting_texts(
        sample.question, sample.ground_truth, [source.text for source in sample.sources]
    )
    return AnswerDiagnosis(
        sample=sample,
        facts=len(facts),
        stated=stated,
        retrieved=retrieved if retrieves else None,
        missed=tuple(missed),
        invented=tuple(unsupported_figures(sample.answer, supports)),
    )


@dataclass(frozen=True, slots=True)
class Funnel:
    """Over a strategy's answered samples: facts asked for, found in the sources, stated in
    the answer (and of those, found in the sources), and answers with invented figures."""

    answers: int
    facts: int
    retrieved: int | None
    stated: int
    answers_inventing: int
    invented: int

    @classmethod
    def of(cls, diagnoses: Sequence[AnswerDiagnosis], retrieves: bool) -> Funnel:
        return cls(
            answers=len(diagnoses),
            facts=sum(d.facts for d in diagnoses),
            retrieved=sum(d.retrieved or 0 for d in diagnoses) if retrieves else None,
            stated=sum(d.stated for d in diagnoses),
            answers_inventing=sum(1 for d in diagnoses if d.invented),
            invented=sum(len(d.invented) for d in diagnoses),
        )
