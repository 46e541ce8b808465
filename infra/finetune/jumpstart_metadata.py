"""JumpStart model metadata answered offline: the bundled document, or any document in a file.

A file holds either a whole DescribeHubContent answer (the bundled one, with the hub's envelope)
or a bare HubContentDocument (what the SDK's own test fixtures hold). A bare document gets an
envelope whose values are placeholders, and says so (`HubAnswer.placeholders`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders

PUBLIC_HUB = "SageMakerPublicHub"
BUNDLED_DIR = Path(__file__).parent / "data"
# The bundled answers were written for this region; every URI and ARN in them names it.
BUNDLED_REGION = "us-east-1"
# Notes carried in a bundled file that the hub's answer does not have.
_NOTES = ("_provenance", "_dlc_accounts", "_placeholders")
# The envelope of a bare document: the hub's own fields, not the document's.
ENVELOPE_PLACEHOLDERS = ("HubContentVersion", "CreationTime", "DocumentSchemaVersion")


class UnknownModelError(LookupError):
    """No bundled metadata for this model id: only the live hub can describe it."""


@dataclass(frozen=True, slots=True)
class HubAnswer:
    """A DescribeHubContent answer as botocore parses it, and which of its values we made up."""

    response: dict[str, Any]
    source: str
    placeholders: tuple[str, ...] = field(default_factory=tuple)

    def document(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.response["HubContentDocument"])
        return parsed


def bundled_models() -> list[str]:
    return sorted(path.stem for path in BUNDLED_DIR.glob("*.json"))


def bundled_hub_content(model_id: str, region: str) -> dict[str, Any]:
    """The DescribeHubContent response for `model_id` in `region`, as botocore parses it."""
    return bundled_answer(model_id, region).response


def bundled_answer(model_id: str, region: str) -> HubAnswer:
    path = BUNDLED_DIR / f"{model_id}.json"
    if not path.is_file():
        raise UnknownModelError(
            f"no bundled JumpStart metadata for {model_id} "
            f"(bundled: {', '.join(bundled_models())}); give AWS credentials so the live hub "
            "describes it, set FMT_FINETUNE__SAGEMAKER__MODEL_ID, or pass --hub-document"
        )
    return file_answer(path, model_id, region)


def file_answer(path: Path, model_id: str, region: str) -> HubAnswer:
    """The answer a file gives for `model_id` in `region` (see the module's docstring)."""
    text = path.read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    if "HubContentDocument" not in loaded:
        return _enveloped(loaded, path, model_id, region)
    accounts: dict[str, str] = loaded.get("_dlc_accounts", {})
    if accounts:
        if region not in accounts:
            raise UnknownModelError(
                f"no JumpStart metadata in {path.name} for region {region} (it has: "
                f"{', '.join(sorted(accounts))}); give AWS credentials so the live hub answers"
            )
        # Container images live in a per-region account; buckets and ARNs only carry the region.
        bundled_host = f"{accounts[BUNDLED_REGION]}.dkr.ecr.{BUNDLED_REGION}"
        text = text.replace(bundled_host, f"{accounts[region]}.dkr.ecr.{region}")
        loaded = json.loads(text.replace(BUNDLED_REGION, region))
    placeholders = tuple(str(item) for item in loaded.get("_placeholders", []))
    for note in _NOTES:
        loaded.pop(note, None)
    loaded["HubContentDocument"] = json.dumps(loaded["HubContentDocument"])
    loaded["CreationTime"] = datetime.fromisoformat(str(loaded["CreationTime"]))
    return HubAnswer(loaded, str(path), placeholders)


def _enveloped(document: dict[str, Any], path: Path, model_id: str, region: str) -> HubAnswer:
    """A bare HubContentDocument inside the hub's envelope, answering for `model_id`."""
    version = "1.0.0"
    response = {
        "HubName": PUBLIC_HUB,
        "HubArn": f"arn:aws:sagemaker:{region}:aws:hub/{PUBLIC_HUB}",
        "HubContentName": model_id,
        "HubContentArn": (
            f"arn:aws:sagemaker:{region}:aws:hub-content/{PUBLIC_HUB}/Model/{model_id}/{version}"
        ),
        "HubContentVersion": version,
        "HubContentType": "Model",
        "DocumentSchemaVersion": "2.3.0",
        "HubContentStatus": "Available",
        "CreationTime": datetime.fromisoformat("1970-01-01T00:00:00+00:00"),
        "HubContentDocument": json.dumps(document),
    }
    return HubAnswer(
        response, str(path), tuple(f"envelope.{name}" for name in ENVELOPE_PLACEHOLDERS)
    )


class OfflineHubContent:
    """A botocore `before-call` handler answering DescribeHubContent on the public hub offline.

    Registered on a boto3 session, it short-circuits only that one read call; every other call
    goes on as usual. With `document` it answers every model with that file; otherwise with the
    bundled metadata, and a model the bundle lacks gets the same error the service gives.
    """

    def __init__(self, region: str, document: Path | None = None) -> None:
        self.region = region
        self.document = document
        self.answers: list[HubAnswer] = []

    def answer(self, model_id: str) -> HubAnswer:
        if self.document is not None:
            return file_answer(self.document, model_id, self.region)
        return bundled_answer(model_id, self.region)

    def _public_hub(self, body: dict[str, Any]) -> bool:
        public_arn = f"arn:aws:sagemaker:{self.region}:aws:hub/{PUBLIC_HUB}"
        return body.get("HubName") in (PUBLIC_HUB, public_arn)

    def describe(self, params: dict[str, Any], **kwargs: Any) -> tuple[AWSResponse, Any] | None:
        body = json.loads(params.get("body") or b"{}")
        if not self._public_hub(body):
            return None
        try:
            answer = self.answer(str(body.get("HubContentName", "")))
        except UnknownModelError as error:
            return _not_found(error)
        self.answers.append(answer)
        return _response(200), answer.response

    def list_versions(
        self, params: dict[str, Any], **kwargs: Any
    ) -> tuple[AWSResponse, Any] | None:
        """The one version the file holds (the SDK lists versions before it describes one)."""
        body = json.loads(params.get("body") or b"{}")
        if not self._public_hub(body):
            return None
        try:
            response = self.answer(str(body.get("HubContentName", ""))).response
        except UnknownModelError as error:
            return _not_found(error)
        summary = {key: response[key] for key in _SUMMARY_KEYS if key in response}
        return _response(200), {"HubContentSummaries": [summary]}

    def register(self, events: Any) -> None:
        events.register("before-call.sagemaker.DescribeHubContent", self.describe)
        events.register("before-call.sagemaker.ListHubContentVersions", self.list_versions)


_SUMMARY_KEYS = (
    "HubContentName",
    "HubContentArn",
    "HubContentVersion",
    "HubContentType",
    "DocumentSchemaVersion",
    "HubContentDisplayName",
    "HubContentDescription",
    "HubContentStatus",
    "CreationTime",
)


def _not_found(error: Exception) -> tuple[AWSResponse, Any]:
    return _response(400), {
        "Error": {"Code": "ResourceNotFound", "Message": str(error)},
        "ResponseMetadata": {"HTTPStatusCode": 400},
    }


def _response(status: int) -> AWSResponse:
    return AWSResponse("https://bundled.invalid/", status, HTTPHeaders(), None)
