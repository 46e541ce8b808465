"""Where a run keeps its files, and the stores opened on them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from eval.judges.jury import judgement_key
from eval.judges.pairwise import PairwiseRecord, pairwise_key
from eval.records import BertScoreRecord, JudgementRecord, SampleRecord
from eval.store import JsonlStore


@dataclass(frozen=True, slots=True)
class RunFiles:
    out: Path

    @property
    def manifest(self) -> Path:
        return self.out / "manifest.json"

    @property
    def report(self) -> Path:
        return self.out / "report.html"

    def records(self) -> list[Path]:
        """What a run writes as it goes; --overwrite removes these."""
        names = (
            "samples.jsonl",
            "bertscores.jsonl",
            "judgements.jsonl",
            "pairwise.jsonl",
            "manifest.json",
        )
        return [self.out / name for name in names]

    def samples(self) -> JsonlStore[SampleRecord]:
        return JsonlStore(self.out / "samples.jsonl", SampleRecord, lambda r: r.key)

    def bertscores(self) -> JsonlStore[BertScoreRecord]:
        return JsonlStore(
            self.out / "bertscores.jsonl", BertScoreRecord, lambda r: (r.key, r.backbone)
        )

    def judgements(self) -> JsonlStore[JudgementRecord]:
        return JsonlStore(self.out / "judgements.jsonl", JudgementRecord, judgement_key)

    def pairwise(self) -> JsonlStore[PairwiseRecord]:
        return JsonlStore(self.out / "pairwise.jsonl", PairwiseRecord, pairwise_key)
