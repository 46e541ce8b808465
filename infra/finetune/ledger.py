"""The per-fact ledger: which facts the untuned model states closed-book, which the tuned one does.

For every `must_mention` fact of a test set and every figure of the catalog facts the training
was built from (asked by a paraphrase training never used), the ledger says whether the base model
states it (`base`), whether the tuned model does (`tuned`), hence its status:

- known: both state it; learned: only the tuned model; unknown: neither; forgotten: only the base.

and which figures each model's answer invents (numbers and codes found in neither the question
nor its references). Gekhman et al. (2024) found that fitting facts new to a model raises its
hallucination on the facts it knew: `invented_on_known` watches exactly that.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from app.settings import Settings
from eval.metrics.facts import Fact
from infra.finetune.catalog_qa import catalog_facts
from infra.finetune.facts import FactProbe, invented_figures, probes, states
from infra.finetune.settings import LocalFinetuneSettings

Status = Literal["known", "learned", "unknown", "forgotten"]
Source = Literal["test", "catalog"]
STATUSES: tuple[Status, ...] = ("known", "learned", "unknown", "forgotten")


@dataclass(frozen=True, slots=True)
class LedgerQuestion:
    """One question, the facts an answer to it must state, and what counts as a known figure."""

    question: str
    references: tuple[str, ...]
    facts: tuple[Fact, ...]
    source: Source


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    question: str
    fact: str
    source: Source
    base: bool
    tuned: bool
    status: Status
    base_answer: str
    tuned_answer: str
    base_invented: list[str] = field(default_factory=list)
    tuned_invented: list[str] = field(default_factory=list)


def status_of(base: bool, tuned: bool) -> Status:
    if base:
        return "known" if tuned else "forgotten"
    return "learned" if tuned else "unknown"


def _fact(raw: object) -> Fact:
    if isinstance(raw, list):
        return tuple(str(phrasing) for phrasing in raw)
    return (str(raw),)


def read_test_questions(path: Path, limit: int | None = None) -> list[LedgerQuestion]:
    """A test set like data/test/test.json: question, answer, must_mention."""
    records = json.loads(path.read_text(encoding="utf-8"))
    return [
        LedgerQuestion(
            question=str(record["question"]),
            references=(str(record.get("answer", "")),),
            facts=tuple(_fact(raw) for raw in record.get("must_mention", [])),
            source="test",
        )
        for record in records[:limit]
        if record.get("must_mention")
    ]


def catalog_questions(probes: Sequence[FactProbe]) -> list[LedgerQuestion]:
    """The training facts, each asked by a held-out paraphrase; each figure is one fact."""
    return [
        LedgerQuestion(
            question=probe.question,
            references=(probe.reference,),
            facts=tuple((figure,) for figure in probe.facts),
            source="catalog",
        )
        for probe in probes
    ]


def ledger_entries(
    questions: Sequence[LedgerQuestion], base: Sequence[str], tuned: Sequence[str]
) -> list[LedgerEntry]:
    """One entry per (question, fact), from each model's answer to the question."""
    entries = []
    for asked, base_answer, tuned_answer in zip(questions, base, tuned, strict=True):
        known = (asked.question, *asked.references)
        base_invented = invented_figures(base_answer, known)
        tuned_invented = invented_figures(tuned_answer, known)
        for fact in asked.facts:
            in_base, in_tuned = states(base_answer, fact), states(tuned_answer, fact)
            entries.append(
                LedgerEntry(
                    question=asked.question,
                    fact=" | ".join(fact),
                    source=asked.source,
                    base=in_base,
                    tuned=in_tuned,
                    status=status_of(in_base, in_tuned),
                    base_answer=base_answer,
                    tuned_answer=tuned_answer,
                    base_invented=base_invented,
                    tuned_invented=tuned_invented,
                )
            )
    return entries


def _macro_recall(entries: Sequence[LedgerEntry], model: Literal["base", "tuned"]) -> float:
    """Mean over questions of the share of their facts stated: the eval's fact recall."""
    by_question: dict[str, list[bool]] = {}
    for entry in entries:
        by_question.setdefault(entry.question, []).append(getattr(entry, model))
    if not by_question:
        return 0.0
    return round(statistics.fmean(sum(found) / len(found) for found in by_question.values()), 4)


def _invented(entries: Sequence[LedgerEntry], only_known: bool) -> dict[str, int]:
    """Invented figures per question (counted once per question), over all questions or only
    those with a fact the base model knew."""
    seen: dict[str, LedgerEntry] = {}
    known_questions = {entry.question for entry in entries if entry.base}
    for entry in entries:
        if only_known and entry.question not in known_questions:
            continue
        seen.setdefault(entry.question, entry)
    return {
        "questions": len(seen),
        "base": sum(len(entry.base_invented) for entry in seen.values()),
        "tuned": sum(len(entry.tuned_invented) for entry in seen.values()),
    }


def summarize(entries: Sequence[LedgerEntry]) -> dict[str, object]:
    """Counts by status, the recall of each model, and invented figures, per source."""
    summary: dict[str, object] = {}
    for source in ("test", "catalog"):
        chosen = [entry for entry in entries if entry.source == source]
        if not chosen:
            continue
        counts = Counter(entry.status for entry in chosen)
        summary[source] = {
            "facts": len(chosen),
            "questions": len({entry.question for entry in chosen}),
            **{status: counts.get(status, 0) for status in STATUSES},
            "base_recall": _macro_recall(chosen, "base"),
            "tuned_recall": _macro_recall(chosen, "tuned"),
            "invented": _invented(chosen, only_known=False),
            "invented_on_known": _invented(chosen, only_known=True),
        }
    return summary


def ledger_document(entries: Sequence[LedgerEntry], adapter: str) -> dict[str, object]:
    return {
        "adapter": adapter,
        "facts": [asdict(entry) for entry in entries],
        "summary": summarize(entries),
    }


def summary_lines(summary: dict[str, object]) -> list[str]:
    """The counts as printed by `compare --ledger`."""
    lines = []
    for source, raw in summary.items():
        assert isinstance(raw, dict)
        counts = ", ".join(f"{status} {raw[status]}" for status in STATUSES)
        invented, on_known = raw["invented"], raw["invented_on_known"]
        lines.append(
            f"{source}: {raw['facts']} facts in {raw['questions']} questions: {counts}; "
            f"fact recall base {raw['base_recall']:.3f}, tuned {raw['tuned_recall']:.3f}; "
            f"invented figures base {invented['base']}, tuned {invented['tuned']} "
            f"(on the {on_known['questions']} questions with a fact the base knew: "
            f"base {on_known['base']}, tuned {on_known['tuned']})"
        )
    return lines


def trained_paraphrases(manifest_path: Path, default: int) -> int:
    """How many paraphrases per fact the adapter was trained on (its manifest), so its probes
    are the first paraphrase it never saw."""
    try:
        hyper = json.loads(manifest_path.read_text(encoding="utf-8"))["hyperparameters"]
        return int(hyper.get("paraphrases", 1))
    except (OSError, ValueError, KeyError, TypeError):
        return default


def ledger_questions(
    test_set: Path | None, limit: int | None, probes: Sequence[FactProbe], catalog_limit: int | None
) -> list[LedgerQuestion]:
    """The test set's questions (first `limit`), then the catalog's probes (first `catalog_limit`
    of a seeded order)."""
    asked = read_test_questions(test_set, limit) if test_set is not None else []
    return asked + catalog_questions(list(probes)[:catalog_limit])


def build_ledger(
    settings: Settings,
    adapter: Path,
    local: LocalFinetuneSettings,
    test_set: tuple[Path | None, int | None],
    catalog_limit: int | None,
) -> dict[str, object]:
    """Both models' closed-book answers to the test set (path, first N) and to the probes of
    the trained catalog facts (the first `catalog_limit` of the seeded order), as the ledger."""
    from infra.finetune.compare import model_answers
    from infra.finetune.recall import sample_probes

    paraphrases = trained_paraphrases(adapter.parent / "manifest.json", local.paraphrases)
    everything = probes(catalog_facts(settings.catalog), paraphrases, local.seed)
    ordered = sample_probes(everything, len(everything), local.seed)
    asked = ledger_questions(test_set[0], test_set[1], ordered, catalog_limit)
    questions = [item.question for item in asked]
    entries = ledger_entries(
        asked,
        model_answers(settings, None, questions),
        model_answers(settings, adapter, questions),
    )
    return ledger_document(entries, str(adapter))
