"""Bedrock model ids that work in a region: cross-region inference profiles and their ARNs.

Meta's Llama 3.1+ models (and most newer ones) have no on-demand throughput in any single region:
Converse refuses the foundation-model id and wants a cross-region (system-defined) inference
profile, whose id is the model id behind a geography prefix (`us.`, `eu.`, `apac.`). The profile
routes each call to one of its destination regions, so IAM must allow the profile and the
foundation model in every one of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_FOUNDATION_MODEL = "meta.llama3-1-8b-instruct-v1:0"
MODEL_ID_SETTING = "FMT_BEDROCK__MODEL_ID"

# Region name prefix -> geography prefix of the region's system-defined inference profiles.
# Longest prefix first: us-gov- before us-.
_GEOGRAPHY_BY_REGION_PREFIX = (
    ("us-gov-", "us-gov"),
    ("us-", "us"),
    ("eu-", "eu"),
    ("ap-", "apac"),
)
GEOGRAPHY_PREFIXES = frozenset({"us", "us-gov", "eu", "apac", "jp", "au", "ca", "global"})

# Destination regions of the system-defined profiles this project defaults to, per geography
# (Bedrock user guide, "Supported cross-Region inference profiles"; `GetInferenceProfile`
# answers with the live list, and `python -m infra.doctor` compares the two).
PROFILE_DESTINATIONS: dict[str, dict[str, tuple[str, ...]]] = {
    DEFAULT_FOUNDATION_MODEL: {"us": ("us-east-1", "us-east-2", "us-west-2")},
}

_ARN = re.compile(r"^arn:aws[a-z-]*:bedrock:")


class UnusableModelId(ValueError):
    """A configured model id cannot be called in the configured region."""


@dataclass(frozen=True, slots=True)
class ModelRoute:
    """What a model id resolves to in a region: the id to call and what IAM must allow."""

    model_id: str
    foundation_model: str | None
    geography: str | None
    destination_regions: tuple[str, ...]


def geography_of(region: str) -> str | None:
    """The inference-profile geography of `region` (us-east-1 -> us); None when unknown."""
    for region_prefix, geography in _GEOGRAPHY_BY_REGION_PREFIX:
        if region.startswith(region_prefix):
            return geography
    return None


def split_profile_id(model_id: str) -> tuple[str | None, str]:
    """(`us`, `meta.llama...`) for a profile id; (None, model_id) for anything else."""
    prefix, _, rest = model_id.partition(".")
    if rest and prefix in GEOGRAPHY_PREFIXES and "." in rest:
        return prefix, rest
    return None, model_id


def resolve_model_id(
    model_id: str | None, region: str, setting: str = MODEL_ID_SETTING
) -> ModelRoute:
    """The id to call for `model_id` in `region`; `None` means the default model.

    Raises UnusableModelId (naming `setting`) for a profile of another geography, or for a
    profile-only foundation model given without its prefix.
    """
    geography = geography_of(region)
    if model_id is None:
        destinations = PROFILE_DESTINATIONS[DEFAULT_FOUNDATION_MODEL]
        if geography not in destinations:
            raise UnusableModelId(
                f"the default Bedrock model ({DEFAULT_FOUNDATION_MODEL}) has no cross-region "
                f"inference profile for {region}; set {setting} to a model or inference profile "
                f"offered there (list them: aws bedrock list-inference-profiles --region {region})"
            )
        return ModelRoute(
            f"{geography}.{DEFAULT_FOUNDATION_MODEL}",
            DEFAULT_FOUNDATION_MODEL,
            geography,
            destinations[geography],
        )
    if _ARN.match(model_id):  # a custom model, provisioned throughput or application profile
        return ModelRoute(model_id, None, None, (region,))
    prefix, foundation_model = split_profile_id(model_id)
    if prefix is not None:
        if prefix not in ("global", geography):
            raise UnusableModelId(
                f"{setting}={model_id} is a {prefix} inference profile, which cannot be called "
                f"from {region}; use {geography or 'the region'}.{foundation_model}, or set "
                "AWS_REGION to a region of that geography"
            )
        known = PROFILE_DESTINATIONS.get(foundation_model, {}).get(prefix, (region,))
        return ModelRoute(model_id, foundation_model, prefix, known)
    if foundation_model in PROFILE_DESTINATIONS:
        hint = f"{geography}.{model_id}" if geography else "its inference profile id"
        raise UnusableModelId(
            f"{setting}={model_id} has no on-demand throughput in {region}: Bedrock serves it "
            f"only through a cross-region inference profile; set {setting}={hint}"
        )
    return ModelRoute(model_id, model_id, None, (region,))


def invocation_arns(route: ModelRoute, region: str, account: str = "*") -> list[str]:
    """The resource ARNs `bedrock:InvokeModel*` must allow for `route` called from `region`."""
    if route.foundation_model is None:
        return [route.model_id]
    arns = []
    if route.geography is not None:
        arns.append(f"arn:aws:bedrock:{region}:{account}:inference-profile/{route.model_id}")
    arns += [
        f"arn:aws:bedrock:{destination}::foundation-model/{route.foundation_model}"
        for destination in route.destination_regions
    ]
    return arns
