"""JumpStart model metadata bundled for offline use: the public hub's DescribeHubContent answer."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders

PUBLIC_HUB = "SageMakerPublicHub"
BUNDLED_DIR = Path(__file__).parent / "data"
# The bundled answers were written for this region; every URI and ARN in them names it.
BUNDLED_REGION = "us-east-1"


class UnknownModelError(LookupError):
    """No bundled metadata for this model id: only the live hub can describe it."""


def bundled_models() -> list[str]:
    return sorted(path.stem for path in BUNDLED_DIR.glob("*.json"))


def bundled_hub_content(model_id: str, region: str) -> dict[str, Any]:
    """The DescribeHubContent response for `model_id` in `region`, as botocore parses it."""
    path = BUNDLED_DIR / f"{model_id}.json"
    if not path.is_file():
        raise UnknownModelError(
            f"no bundled JumpStart metadata for {model_id} "
            f"(bundled: {', '.join(bundled_models())}); give AWS credentials so the live hub "
            "describes it, or set FMT_FINETUNE__SAGEMAKER__MODEL_ID"
        )
    text = path.read_text(encoding="utf-8")
    accounts: dict[str, str] = json.loads(text)["_dlc_accounts"]
    if region not in accounts:
        raise UnknownModelError(
            f"no bundled JumpStart metadata for region {region} (bundled: "
            f"{', '.join(sorted(accounts))}); give AWS credentials so the live hub answers"
        )
    # Container images live in a per-region account; buckets and ARNs only carry the region name.
    bundled_host = f"{accounts[BUNDLED_REGION]}.dkr.ecr.{BUNDLED_REGION}"
    text = text.replace(bundled_host, f"{accounts[region]}.dkr.ecr.{region}")
    answer: dict[str, Any] = json.loads(text.replace(BUNDLED_REGION, region))
    for note in ("_provenance", "_dlc_accounts"):
        answer.pop(note)
    answer["HubContentDocument"] = json.dumps(answer["HubContentDocument"])
    answer["CreationTime"] = datetime.fromisoformat(answer["CreationTime"])
    return answer


class BundledHubContent:
    """A botocore `before-call` handler answering DescribeHubContent on the public hub offline.

    Registered on a boto3 session, it short-circuits only that one read call; every other call
    goes on as usual. A model the bundle lacks gets the same error the service gives.
    """

    def __init__(self, region: str) -> None:
        self.region = region

    def __call__(self, params: dict[str, Any], **kwargs: Any) -> tuple[AWSResponse, Any] | None:
        body = json.loads(params.get("body") or b"{}")
        if body.get("HubName") != PUBLIC_HUB:
            return None
        name = str(body.get("HubContentName", ""))
        try:
            answer = bundled_hub_content(name, self.region)
        except UnknownModelError as error:
            return _response(400), {
                "Error": {"Code": "ResourceNotFound", "Message": str(error)},
                "ResponseMetadata": {"HTTPStatusCode": 400},
            }
        return _response(200), answer

    def register(self, events: Any) -> None:
        events.register("before-call.sagemaker.DescribeHubContent", self)


def _response(status: int) -> AWSResponse:
    return AWSResponse("https://bundled.invalid/", status, HTTPHeaders(), None)
