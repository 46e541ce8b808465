"""The `training` channel's files for JumpStart: catalog text, or question/answer pairs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.catalog import catalog_hash, read_sections
from infra.finetune.catalog_qa import catalog_qa
from infra.finetune.examples import TrainingDataError
from infra.finetune.settings import SageMakerFinetuneSettings


@dataclass(frozen=True, slots=True)
class ChannelFile:
    name: str
    body: bytes
    content_type: str


def catalog_training_text(catalog: Path) -> str:
    """The catalog as the plain text JumpStart domain adaptation reads: one section a paragraph."""
    blocks = []
    for section in read_sections(catalog):
        heading = f"{section.product} - {section.title}" if section.title else section.product
        blocks.append(f"{heading}\n{section.text}")
    return "\n\n".join(blocks) + "\n"


def question_answer_pairs(
    settings: SageMakerFinetuneSettings, catalog: Path
) -> list[dict[str, str]]:
    """The qa_file's pairs, or pairs built from the catalog's own sentences."""
    if settings.qa_file is None:
        return [{"question": pair.question, "answer": pair.answer} for pair in catalog_qa(catalog)]
    try:
        records: Any = json.loads(settings.qa_file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise TrainingDataError(f"FMT_FINETUNE__SAGEMAKER__QA_FILE: {error}") from error
    if not isinstance(records, list) or not records:
        raise TrainingDataError(f"{settings.qa_file} must hold a non-empty JSON list")
    pairs = []
    for index, record in enumerate(records):
        if not isinstance(record, dict) or not {"question", "answer"} <= record.keys():
            raise TrainingDataError(f"{settings.qa_file} item {index} lacks 'question' or 'answer'")
        pairs.append({"question": str(record["question"]), "answer": str(record["answer"])})
    return pairs


def channel_files(settings: SageMakerFinetuneSettings, catalog: Path) -> list[ChannelFile]:
    """Domain adaptation reads .txt files; instruction tuning, train.jsonl via template.json."""
    if settings.method == "domain":
        text = catalog_training_text(catalog).encode("utf-8")
        return [ChannelFile("train.txt", text, "text/plain")]
    lines = [
        json.dumps(pair, ensure_ascii=False) for pair in question_answer_pairs(settings, catalog)
    ]
    template = {
        "prompt": settings.instruct_prompt,
        # JumpStart joins prompt and completion as they are: the space keeps the words apart.
        "completion": " {answer}",
    }
    return [
        ChannelFile("train.jsonl", ("\n".join(lines) + "\n").encode("utf-8"), "application/jsonl"),
        ChannelFile("template.json", json.dumps(template).encode("utf-8"), "application/json"),
    ]


def training_data_prefix(settings: SageMakerFinetuneSettings, catalog: Path) -> str:
    """Key prefix of the channel: by catalog content and method, so a rerun reuses it."""
    return f"{settings.prefix}/data/{catalog_hash(catalog)[:16]}-{settings.method}"


def training_data_uri(settings: SageMakerFinetuneSettings, bucket: str, catalog: Path) -> str:
    return f"s3://{bucket}/{training_data_prefix(settings, catalog)}/"


def upload_training_data(
    s3: Any, settings: SageMakerFinetuneSettings, bucket: str, catalog: Path
) -> str:
    """Upload the channel's files; returns the channel's S3 prefix."""
    key_prefix = training_data_prefix(settings, catalog)
    files = channel_files(settings, catalog)
    for channel_file in files:
        s3.put_object(
            Bucket=bucket,
            Key=f"{key_prefix}/{channel_file.name}",
            Body=channel_file.body,
            ContentType=channel_file.content_type,
        )
    return training_data_uri(settings, bucket, catalog)
