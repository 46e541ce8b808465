"""The boto3 and SageMaker SDK sessions of a run: region, bucket, metadata source, dry run."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import ClientError

from infra.finetune.jumpstart_metadata import OfflineHubContent
from infra.finetune.sagemaker_dry_run import DryRun
from infra.finetune.settings import SageMakerFinetuneSettings


class SageMakerSetupError(ValueError):
    """A setting the SageMaker pipeline needs is missing or unusable."""


def require(value: str | None, variable: str) -> str:
    if not value:
        raise SageMakerSetupError(f"set {variable}")
    return value


def setup_failure(
    error: Exception, settings: SageMakerFinetuneSettings
) -> SageMakerSetupError | None:
    """An SDK refusal that a setting causes, as an error naming the setting; None for others."""
    from sagemaker.core.helper.iam_role_resolver import RoleValidationError

    if isinstance(error, RoleValidationError):
        return SageMakerSetupError(f"FMT_FINETUNE__SAGEMAKER__ROLE_ARN: {error}")
    if isinstance(error, ClientError) and error.response["Error"]["Code"] == "ResourceNotFound":
        return SageMakerSetupError(
            f"FMT_FINETUNE__SAGEMAKER__MODEL_ID={settings.model_id} is not in the JumpStart hub "
            f"{settings.hub_name} of this region: {error.response['Error'].get('Message', '')}"
        )
    if isinstance(error, ValueError) and "instance type" in str(error):
        return SageMakerSetupError(f"FMT_FINETUNE__SAGEMAKER__TRAINING_INSTANCE_TYPE: {error}")
    return None


@dataclass(frozen=True, slots=True)
class SageMakerContext:
    """Everything that talks to AWS in one run, built once."""

    boto_session: boto3.session.Session
    sagemaker_session: Any  # sagemaker.core.helper.session_helper.Session
    region: str
    bucket: str
    bundled_metadata: bool
    dry_run: DryRun | None = None
    offline_hub: OfflineHubContent | None = None

    def client(self, service: str) -> Any:
        # boto3's stubs overload client() per service literal; any service name is valid here.
        return self.boto_session.client(service, region_name=self.region)  # type: ignore[call-overload]


def _sdk_config(settings: SageMakerFinetuneSettings) -> dict[str, Any]:
    # Passed in full so the SDK neither reads config files nor sends telemetry unasked.
    return {
        "SchemaVersion": "1.0",
        "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": settings.telemetry_opt_out}}},
    }


def _uses_bundled_metadata(settings: SageMakerFinetuneSettings, session: Any) -> bool:
    if settings.metadata == "bundled" or settings.hub_document is not None:
        return True
    if settings.metadata == "live":
        return False
    return session.get_credentials() is None


class RegionGivenFilter(logging.Filter):
    """Drops the SDK's "No region provided. Using default region." warning.

    ModelTrainer.train calls TrainingJob.create with the session but no region (sagemaker-train
    1.27), and sagemaker-core warns, then takes the session's region, which `open_context` has
    set: the warning says the opposite of what happens. Any other record passes.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "No region provided" not in record.getMessage()


def _quiet_misleading_region_warning() -> None:
    logger = logging.getLogger("sagemaker.core.utils.utils")
    if not any(isinstance(existing, RegionGivenFilter) for existing in logger.filters):
        logger.addFilter(RegionGivenFilter())


def resolve_region(settings: SageMakerFinetuneSettings, session: Any | None) -> str:
    """The setting, else AWS_REGION (which botocore does not read), else the profile's region."""
    region = (
        settings.region
        or os.environ.get("AWS_REGION")
        or (session.region_name if session is not None else None)
        or boto3.session.Session().region_name
    )
    if not region:
        raise SageMakerSetupError("set FMT_FINETUNE__SAGEMAKER__REGION or AWS_REGION")
    return str(region)


def open_context(
    settings: SageMakerFinetuneSettings,
    dry_run: bool = False,
    boto_session: boto3.session.Session | None = None,
) -> SageMakerContext:
    """Sessions in the configured region; handlers are registered before any client exists."""
    from sagemaker.core.helper.session_helper import Session

    region = resolve_region(settings, boto_session)
    session = boto_session or boto3.session.Session(region_name=region)
    if session.region_name != region:
        raise SageMakerSetupError(
            f"FMT_FINETUNE__SAGEMAKER__REGION={region} differs from the session's "
            f"{session.region_name}"
        )
    _quiet_misleading_region_warning()
    bucket = require(settings.bucket, "FMT_FINETUNE__SAGEMAKER__BUCKET")
    bundled = _uses_bundled_metadata(settings, session)
    offline_hub = None
    if bundled:
        offline_hub = OfflineHubContent(region, settings.hub_document)
        offline_hub.register(session.events)
    recorder = None
    if dry_run:
        recorder = DryRun(offline=session.get_credentials() is None, bucket=bucket)
        recorder.register(session.events)
    sagemaker_session = Session(
        boto_session=session,
        default_bucket=bucket,
        default_bucket_prefix=settings.prefix,
        sagemaker_config=_sdk_config(settings),
    )
    return SageMakerContext(
        session, sagemaker_session, region, bucket, bundled, recorder, offline_hub
    )
