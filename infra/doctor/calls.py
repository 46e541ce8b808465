"""Every AWS call the service makes with its settings, as IAM actions on resource ARNs."""

from __future__ import annotations

from dataclasses import dataclass

from app.generators.bedrock_models import ModelRoute, invocation_arns
from app.settings import Settings


@dataclass(frozen=True, slots=True)
class ServiceCall:
    """IAM actions on resources that one feature of the service needs, and what enables it."""

    purpose: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    setting: str


# Converse is authorized as bedrock:InvokeModel, ConverseStream as ...WithResponseStream.
BEDROCK_INVOKE = ("bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream")
SAGEMAKER_INVOKE = ("sagemaker:InvokeEndpoint", "sagemaker:InvokeEndpointWithResponseStream")


def service_calls(
    settings: Settings,
    routes: dict[str, ModelRoute],
    region: str,
    account: str,
    sagemaker_region: str | None = None,
) -> list[ServiceCall]:
    """The calls of the configured backends; `routes` maps a model setting to its resolved id.

    `region` is Bedrock's (FMT_BEDROCK__REGION), `sagemaker_region` the endpoint's
    (FMT_SAGEMAKER__REGION; default: Bedrock's): each resource ARN names its own client's.
    """
    calls = [
        ServiceCall(
            f"Converse with {route.model_id}",
            BEDROCK_INVOKE,
            tuple(invocation_arns(route, region, account)),
            setting,
        )
        for setting, route in routes.items()
    ]
    bedrock = settings.bedrock
    if settings.retriever == "bedrock-kb" and bedrock.knowledge_base_id:
        kb_arn = f"arn:aws:bedrock:{region}:{account}:knowledge-base/{bedrock.knowledge_base_id}"
        calls.append(
            ServiceCall(
                "Retrieve from the Knowledge Base",
                ("bedrock:Retrieve",),
                (kb_arn,),
                "FMT_BEDROCK__KNOWLEDGE_BASE_ID",
            )
        )
        if bedrock.rerank_model_arn:
            calls.append(
                ServiceCall(
                    "Rerank retrieved passages",
                    ("bedrock:Rerank", "bedrock:InvokeModel"),
                    (bedrock.rerank_model_arn,),
                    "FMT_BEDROCK__RERANK_MODEL_ARN",
                )
            )
    for endpoint in sagemaker_endpoints(settings):
        calls.append(
            ServiceCall(
                f"InvokeEndpoint {endpoint}",
                SAGEMAKER_INVOKE,
                (
                    f"arn:aws:sagemaker:{sagemaker_region or region}:{account}:"
                    f"endpoint/{endpoint.lower()}",
                ),
                "FMT_SAGEMAKER__ENDPOINT_NAME",
            )
        )
    return calls


def sagemaker_endpoints(settings: Settings) -> list[str]:
    """The endpoints the configured generators call, each once."""
    sagemaker = settings.sagemaker
    endpoints: list[str] = []
    if settings.generator == "sagemaker":
        endpoint = sagemaker.base_endpoint_name or sagemaker.endpoint_name
        if endpoint:
            endpoints.append(endpoint)
    if settings.tuned_generator == "sagemaker" and sagemaker.endpoint_name:
        endpoints.append(sagemaker.endpoint_name)
    return list(dict.fromkeys(endpoints))
