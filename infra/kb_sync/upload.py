"""Put the catalog's documents under the bucket prefix, and remove the objects it no longer has."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from infra.kb_sync.documents import METADATA_SUFFIX, catalog_objects

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

DELETE_BATCH = 1000  # the most keys one DeleteObjects call takes


@dataclass(frozen=True, slots=True)
class UploadReport:
    documents: int
    uploaded_keys: list[str]
    unchanged_keys: list[str]
    deleted_keys: list[str]


def _existing_etags(s3: S3Client, bucket: str, prefix: str) -> dict[str, str]:
    etags: dict[str, str] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            if "Key" in item:
                etags[item["Key"]] = item.get("ETag", "").strip('"')
    return etags


def _content_md5(body: bytes) -> str:
    # A single-part upload to an SSE-S3 bucket has the MD5 of its content as its ETag.
    return hashlib.md5(body, usedforsecurity=False).hexdigest()


def _delete(s3: S3Client, bucket: str, keys: list[str]) -> None:
    for start in range(0, len(keys), DELETE_BATCH):
        batch = keys[start : start + DELETE_BATCH]
        response = s3.delete_objects(
            Bucket=bucket, Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True}
        )
        errors = response.get("Errors", [])
        if errors:
            first = errors[0]
            raise RuntimeError(
                f"could not delete s3://{bucket}/{first.get('Key')}: {first.get('Message')}"
            )


def upload_catalog(
    s3: S3Client, catalog: Path, bucket: str, prefix: str, delete_stale: bool
) -> UploadReport:
    """Upload the documents that are new or changed, so that Bedrock re-indexes only those; with
    delete_stale the prefix then holds exactly the catalog, and the next ingestion job also
    removes what was taken out of it."""
    objects = catalog_objects(catalog, prefix)
    existing = _existing_etags(s3, bucket, prefix)
    uploaded: list[str] = []
    unchanged: list[str] = []
    for item in objects:
        if existing.get(item.key) == _content_md5(item.body):
            unchanged.append(item.key)
            continue
        s3.put_object(Bucket=bucket, Key=item.key, Body=item.body, ContentType=item.content_type)
        uploaded.append(item.key)
    stale: list[str] = []
    if delete_stale:
        stale = sorted(set(existing) - {item.key for item in objects})
        _delete(s3, bucket, stale)
    documents = sum(not item.key.endswith(METADATA_SUFFIX) for item in objects)
    return UploadReport(documents, uploaded, unchanged, stale)
