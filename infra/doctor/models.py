"""Each Bedrock model a configured generator calls: usable id, inference profile, model access."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from botocore.exceptions import BotoCoreError, ClientError

from app.generators.bedrock_models import ModelRoute, UnusableModelId, resolve_model_id
from app.settings import Settings
from infra.doctor.aws import AwsClients, call_failed, problem
from infra.doctor.results import CheckResult, fail, ok, skip


def configured_models(settings: Settings) -> Iterator[tuple[str, str | None]]:
    """(setting, model id) of each Bedrock model a configured generator calls."""
    if settings.generator == "bedrock":
        yield "FMT_BEDROCK__MODEL_ID", settings.bedrock.model_id
    if settings.tuned_generator == "bedrock":
        yield "FMT_BEDROCK__TUNED_MODEL_ID", settings.bedrock.tuned_model_id


def check_bedrock_models(
    settings: Settings, clients: AwsClients
) -> tuple[list[CheckResult], dict[str, ModelRoute]]:
    """Each configured model: usable id in the region, its profile, and the account's access."""
    results: list[CheckResult] = []
    routes: dict[str, ModelRoute] = {}
    models = list(configured_models(settings))
    if not models:
        return [skip("bedrock models", "no generator is bedrock")], routes
    region = clients.bedrock_region
    for setting, model_id in models:
        name = f"bedrock model ({setting})"
        if setting.endswith("TUNED_MODEL_ID") and not model_id:
            results.append(fail(name, "not set", f"set {setting} to a custom model ARN"))
            continue
        try:
            route = resolve_model_id(model_id, region, setting)
        except UnusableModelId as error:
            fix = f"set {setting} (aws bedrock list-inference-profiles --region {region})"
            results.append(fail(name, str(error), fix))
            continue
        route, found = _check_route(name, setting, route, clients)
        routes[setting] = route
        results.extend(found)
    return results, routes


def _check_route(
    name: str, setting: str, route: ModelRoute, clients: AwsClients
) -> tuple[ModelRoute, list[CheckResult]]:
    foundation_model = route.foundation_model
    if foundation_model is None:
        return route, [ok(name, f"{route.model_id}: an ARN; access is checked by IAM below")]
    results = []
    if route.geography is not None:
        route, profile_result = _check_profile(name, setting, route, clients)
        results.append(profile_result)
    else:
        results.append(_check_on_demand(name, setting, route, clients))
    results.append(_check_access(name, foundation_model, clients))
    return route, results


def _check_profile(
    name: str, setting: str, route: ModelRoute, clients: AwsClients
) -> tuple[ModelRoute, CheckResult]:
    region = clients.bedrock_region
    try:
        profile = clients.bedrock.get_inference_profile(inferenceProfileIdentifier=route.model_id)
    except (ClientError, BotoCoreError) as error:
        code, _ = problem(error)
        if code == "ResourceNotFoundException":
            detail = f"no inference profile {route.model_id} in {region}"
            fix = f"set {setting} to one of: aws bedrock list-inference-profiles --region {region}"
            return route, fail(name, detail, fix)
        return route, call_failed(name, "bedrock:GetInferenceProfile", error, f"check {setting}")
    destinations = tuple(
        sorted({model["modelArn"].split(":")[3] for model in profile.get("models", [])})
    )
    route = dataclasses.replace(
        route, destination_regions=destinations or route.destination_regions
    )
    if profile.get("status") != "ACTIVE":
        return route, fail(name, f"{route.model_id} is {profile.get('status')}", f"check {setting}")
    detail = f"{route.model_id}: inference profile ACTIVE, routes to {', '.join(destinations)}"
    return route, ok(name, detail)


def _check_on_demand(
    name: str, setting: str, route: ModelRoute, clients: AwsClients
) -> CheckResult:
    assert route.foundation_model is not None
    region = clients.bedrock_region
    try:
        reply = clients.bedrock.get_foundation_model(modelIdentifier=route.foundation_model)
    except (ClientError, BotoCoreError) as error:
        code, _ = problem(error)
        if code in {"ResourceNotFoundException", "ValidationException"}:
            detail = f"no foundation model {route.foundation_model} in {region}"
            fix = f"set {setting} to one of: aws bedrock list-foundation-models --region {region}"
            return fail(name, detail, fix)
        return call_failed(name, "bedrock:GetFoundationModel", error, f"check {setting}")
    kinds = reply.get("modelDetails", {}).get("inferenceTypesSupported", [])
    if "ON_DEMAND" not in kinds:
        detail = f"{route.model_id} has no on-demand throughput in {region} ({', '.join(kinds)})"
        fix = f"set {setting} to its inference profile id (aws bedrock list-inference-profiles)"
        return fail(name, detail, fix)
    return ok(name, f"{route.model_id}: on demand in {region}")


def _check_access(name: str, foundation_model: str, clients: AwsClients) -> CheckResult:
    region = clients.bedrock_region
    try:
        reply = clients.bedrock.get_foundation_model_availability(modelId=foundation_model)
    except (ClientError, BotoCoreError) as error:
        fix = "check the model id"
        return call_failed(name, "bedrock:GetFoundationModelAvailability", error, fix)
    gaps = [
        f"{field} is {value}"
        for field, value, wanted in (
            ("authorizationStatus", reply.get("authorizationStatus"), "AUTHORIZED"),
            ("entitlementAvailability", reply.get("entitlementAvailability"), "AVAILABLE"),
            ("agreement", reply.get("agreementAvailability", {}).get("status"), "AVAILABLE"),
            ("regionAvailability", reply.get("regionAvailability"), "AVAILABLE"),
        )
        if value != wanted
    ]
    if gaps:
        fix = (
            f"request access to {foundation_model} in the Bedrock console of {region} "
            "(Model access), then run the doctor again"
        )
        return fail(name, f"{foundation_model}: {'; '.join(gaps)}", fix)
    return ok(name, f"{foundation_model}: access granted in {region}")
