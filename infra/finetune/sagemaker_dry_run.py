"""A dry run of the SageMaker SDK: every read goes through, every write is answered locally.

The SDK has no way to show the CreateTrainingJob request without sending it (`train(dry_run=True)`
validates, uploads the job's driver scripts and returns nothing), so the request is taken where it
leaves botocore: a `before-call` handler sees the serialized body of each call, exactly as it would
go on the wire, and answers writes itself so that nothing is created.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders

READ_PREFIXES = ("Describe", "Get", "List", "Head", "Search", "Simulate")
# Offline, these reads get an answer that lets the SDK go on; the others are refused.
OFFLINE_ACCESS_DENIED = {
    "Code": "AccessDenied",
    "Message": "offline dry run: not asked of AWS",
}


class TrainingRequestCaptured(Exception):
    """Raised from inside the SDK's CreateTrainingJob call, carrying the request it would send."""

    def __init__(self, request: dict[str, Any]) -> None:
        super().__init__("CreateTrainingJob captured")
        self.request = request


@dataclass
class DryRun:
    """botocore handlers for a dry run; `offline` also answers the reads the SDK makes."""

    offline: bool
    bucket: str
    uploads: dict[str, bytes] = field(default_factory=dict)
    skipped_writes: list[str] = field(default_factory=list)

    def register(self, events: Any) -> None:
        events.register("before-parameter-build.s3.PutObject", self._keep_upload)
        events.register("before-call", self._answer)

    def _keep_upload(self, params: dict[str, Any], **kwargs: Any) -> None:
        body = params.get("Body", b"")
        if hasattr(body, "read"):
            content = body.read()
            body.seek(0)
        else:
            content = body.encode() if isinstance(body, str) else bytes(body)
        self.uploads[f"s3://{params['Bucket']}/{params['Key']}"] = content

    def _answer(
        self, model: Any, params: dict[str, Any], **kwargs: Any
    ) -> tuple[AWSResponse, Any] | None:
        operation = str(model.name)
        if operation == "CreateTrainingJob":
            raise TrainingRequestCaptured(json.loads(params["body"]))
        if operation.startswith(READ_PREFIXES) or operation == "GetCallerIdentity":
            return self._offline_read(operation) if self.offline else None
        self.skipped_writes.append(f"{model.service_model.service_name}:{operation}")
        return _response(200), _WRITE_ANSWERS.get(operation, {})

    def _offline_read(self, operation: str) -> tuple[AWSResponse, Any] | None:
        if operation in ("DescribeHubContent", "ListHubContentVersions"):
            return None  # jumpstart_metadata.OfflineHubContent answers them
        if operation == "ListBuckets":
            # The dry run assumes the configured bucket exists; the real run finds out.
            return _response(200), {"Buckets": [{"Name": self.bucket, "CreationDate": _EPOCH}]}
        return _response(403), {"Error": OFFLINE_ACCESS_DENIED}


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_WRITE_ANSWERS: dict[str, dict[str, Any]] = {
    "CreateMultipartUpload": {"UploadId": "dry-run"},
    "UploadPart": {"ETag": '"dry-run"'},
    "PutObject": {"ETag": '"dry-run"'},
}


def _response(status: int) -> AWSResponse:
    return AWSResponse("https://dry-run.invalid/", status, HTTPHeaders(), None)
