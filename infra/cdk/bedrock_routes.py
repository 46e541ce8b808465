"""The Bedrock model ids the service stack configures, resolved as the app resolves them.

The container's FMT_BEDROCK__MODEL_ID and the task role's grants both come from the app's own
`resolve_model_id` in the stack's region, so the id the stack passes is one the app's start-up
check accepts (a cross-region inference profile where the model has no on-demand throughput),
and the role allows the profile and the foundation model in each region it routes to.
"""

from __future__ import annotations

from app.generators.bedrock_models import ModelRoute, resolve_model_id
from infra.cdk.service_settings import ServiceSettings

MODEL_ID_SETTING = "FMT_INFRA_SERVICE__MODEL_ID"
TUNED_MODEL_ID_SETTING = "FMT_INFRA_SERVICE__TUNED_MODEL_ID"


def bedrock_routes(settings: ServiceSettings, region: str | None) -> dict[str, ModelRoute]:
    """The route of each bedrock generator, by role (`base`, `tuned`); empty when none is."""
    wanted: dict[str, tuple[str | None, str]] = {}
    if settings.generator == "bedrock":
        wanted["base"] = (settings.model_id, MODEL_ID_SETTING)
    if settings.tuned_generator == "bedrock":
        wanted["tuned"] = (settings.tuned_model_id, TUNED_MODEL_ID_SETTING)
    if not wanted:
        return {}
    if region is None:
        raise ValueError(
            "set FMT_INFRA_REGION (or AWS_REGION; the CDK CLI sets CDK_DEFAULT_REGION): the "
            "Bedrock model's inference profile and the task role's grants depend on the region"
        )
    return {
        role: resolve_model_id(model_id, region, setting)
        for role, (model_id, setting) in wanted.items()
    }


def with_resolved_models(
    settings: ServiceSettings, routes: dict[str, ModelRoute]
) -> ServiceSettings:
    """The settings with each bedrock model id replaced by the id the app will call."""
    update: dict[str, str] = {}
    if "base" in routes:
        update["model_id"] = routes["base"].model_id
    if "tuned" in routes:
        update["tuned_model_id"] = routes["tuned"].model_id
    return settings.model_copy(update=update)
