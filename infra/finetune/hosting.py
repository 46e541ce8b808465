"""The serving container of a JumpStart model on one instance type, resolved as the SDK does.

Through the SageMaker SDK's public retrievers (`sagemaker.core.image_uris.retrieve`,
`environment_variables.retrieve_default`, `instance_types.retrieve_default`) and the model
specs they read (`jumpstart.utils.verify_model_region_and_return_specs`): the inference config
(`InferenceConfigs` / `InferenceConfigComponents`, the top-ranked one that supports the
instance type), its image for the instance family (`HostingInstanceTypeVariants`), the
per-instance environment. By our code, because the SDK does not do it: the choice of config by
instance type (the SDK picks the top-ranked config whatever the instance); the deploy timeouts,
read from the SDK's own HubContentDocument (`jumpstart.document.get_hub_content_and_document`),
because its spec parser leaves a config component's deploy kwargs empty (sagemaker-core 2.27:
`make_model_specs_from_describe_hub_content_response` reads ModelDataDownloadTimeout only at the
top level, where config documents have none); and the maximum model length
(`serving_limits.py`; the SDK leaves it to the container, which then refuses to start on a
one-GPU instance).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from infra.finetune.serving_limits import ModelShape, serving_limit_environment
from infra.finetune.settings import SageMakerFinetuneSettings

INFERENCE = "inference"


class UnservableInstanceType(ValueError):
    """The model's metadata does not list the endpoint's instance type."""


@dataclass(frozen=True, slots=True)
class Hosting:
    """What CreateModel and CreateEndpointConfig need from the model's metadata."""

    config_name: str | None
    instance_type: str
    supported_instance_types: tuple[str, ...]
    image: str
    environment: dict[str, str]
    gated: bool
    network_isolation: bool
    model_data_download_timeout_s: int | None
    startup_health_check_timeout_s: int | None


def hub_arn(settings: SageMakerFinetuneSettings, region: str) -> str:
    if settings.hub_name.startswith("arn:"):
        return settings.hub_name
    return f"arn:aws:sagemaker:{region}:aws:hub/{settings.hub_name}"


def model_specs(
    settings: SageMakerFinetuneSettings, region: str, session: Any, config_name: str | None
) -> Any:
    """The SDK's JumpStartModelSpecs of the model (DescribeHubContent), with a config applied."""
    from sagemaker.core.jumpstart.enums import JumpStartScriptScope
    from sagemaker.core.jumpstart.utils import verify_model_region_and_return_specs

    return verify_model_region_and_return_specs(
        model_id=settings.model_id,
        version=settings.model_version or "*",
        scope=JumpStartScriptScope.INFERENCE,
        region=region,
        hub_arn=hub_arn(settings, region),
        sagemaker_session=session,
        config_name=config_name,
    )


def choose_config(specs: Any, instance_type: str | None, wanted: str | None) -> str | None:
    """The named config, else the best-ranked one that lists `instance_type`.

    Ours, not `JumpStartMetadataConfigs.get_top_config_from_ranking(instance_type=...)`: in
    sagemaker-core 2.27 that reads the instance types as an attribute of a dict and raises.
    """
    from sagemaker.core.jumpstart.enums import JumpStartConfigRankingName

    configs = getattr(specs, "inference_configs", None)
    if wanted is not None or configs is None or not configs.configs:
        return wanted
    ranking = (configs.config_rankings or {}).get(JumpStartConfigRankingName.DEFAULT)
    names = list(ranking.rankings) if ranking is not None else sorted(configs.configs)
    names = [name for name in names if name in configs.configs]
    for name in names:
        resolved = configs.configs[name].resolved_config
        if instance_type is None or instance_type in (
            resolved.get("supported_inference_instance_types") or ()
        ):
            return str(name)
    # No config lists it: the top one, whose list then names the types it does serve.
    return str(names[0])


def deploy_timeouts(
    settings: SageMakerFinetuneSettings, session: Any, config_name: str | None
) -> tuple[int | None, int | None]:
    """(ModelDataDownloadTimeout, ContainerStartupHealthCheckTimeout) of the config, else of
    the document, as the SDK's HubContentDocument reads them."""
    from sagemaker.core.jumpstart.configs import JumpStartConfig
    from sagemaker.core.jumpstart.document import get_hub_content_and_document

    config = JumpStartConfig(
        model_id=settings.model_id,
        model_version=settings.model_version,
        hub_name=settings.hub_name,
        accept_eula=settings.accept_eula,
    )
    _, document = get_hub_content_and_document(config, session)
    components = document.InferenceConfigComponents or {}
    sources = [components[config_name]] if config_name in components else []
    sources.append(document)
    download = next(
        (s.ModelDataDownloadTimeout for s in sources if s.ModelDataDownloadTimeout), None
    )
    startup = next(
        (
            s.ContainerStartupHealthCheckTimeout
            for s in sources
            if s.ContainerStartupHealthCheckTimeout
        ),
        None,
    )
    return download, startup


def resolve_hosting(settings: SageMakerFinetuneSettings, region: str, session: Any) -> Hosting:
    """Config, instance type, image, environment and timeouts for the endpoint."""
    from sagemaker.core import environment_variables, image_uris

    base = model_specs(settings, region, session, settings.inference_config)
    config_name = choose_config(base, settings.endpoint_instance_type, settings.inference_config)
    specs = model_specs(settings, region, session, config_name) if config_name else base
    instance_type = settings.endpoint_instance_type or specs.default_inference_instance_type
    supported = tuple(specs.supported_inference_instance_types or ())
    if supported and instance_type not in supported:
        raise UnservableInstanceType(
            f"FMT_FINETUNE__SAGEMAKER__ENDPOINT_INSTANCE_TYPE={instance_type} cannot serve "
            f"{settings.model_id}; JumpStart supports {', '.join(supported)}"
        )
    common: dict[str, Any] = {
        "model_id": settings.model_id,
        "model_version": settings.model_version or "*",
        "hub_arn": hub_arn(settings, region),
        "region": region,
        "instance_type": instance_type,
        "sagemaker_session": session,
        "config_name": config_name,
    }
    image = image_uris.retrieve(framework=None, image_scope=INFERENCE, **common)
    environment = environment_variables.retrieve_default(include_aws_sdk_env_vars=True, **common)
    environment = {name: str(value) for name, value in environment.items()}
    shape = ModelShape.model_validate(settings.model_shape.model_dump())
    environment.update(
        serving_limit_environment(
            image, environment, instance_type, region, shape, settings.max_model_len
        )
    )
    environment.update(settings.inference_environment)
    download_s, startup_s = deploy_timeouts(settings, session, config_name)
    return Hosting(
        config_name=config_name,
        instance_type=instance_type,
        supported_instance_types=supported,
        image=str(image),
        environment=environment,
        gated=bool(getattr(specs, "gated_bucket", False)),
        network_isolation=bool(getattr(specs, "inference_enable_network_isolation", False)),
        model_data_download_timeout_s=download_s,
        startup_health_check_timeout_s=startup_s,
    )
