"""The doctor's checks: read-only calls against the account, each turned into report lines.

Every AWS error becomes a failed line with a fix that names the setting or command to change;
nothing here writes to the account or raises past `run_checks`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from app.generators.bedrock_models import ModelRoute, UnusableModelId, resolve_model_id
from app.settings import Settings
from infra.doctor.calls import ServiceCall, sagemaker_endpoints, service_calls
from infra.doctor.results import CheckResult, fail, ok, skip

IAM_DOC = "docs/aws-backends.md, section 'Minimal IAM policy'"


@dataclass(frozen=True, slots=True)
class AwsClients:
    """boto3 clients (or stand-ins) for the services the doctor reads."""

    sts: Any
    iam: Any
    bedrock: Any
    bedrock_agent: Any
    sagemaker: Any
    bedrock_region: str
    sagemaker_region: str


@dataclass(frozen=True, slots=True)
class Identity:
    account: str
    arn: str


def _problem(error: Exception) -> tuple[str, str]:
    """(code, message) of an AWS SDK error."""
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        return str(details.get("Code", "Unknown")), str(details.get("Message", ""))
    return type(error).__name__, str(error)


def _denied(code: str) -> bool:
    return code in {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"}


def _call_failed(name: str, call: str, error: Exception, fix: str) -> CheckResult:
    code, message = _problem(error)
    if _denied(code):
        return fail(name, f"{call} refused: {code}", f"allow {call} for this principal ({IAM_DOC})")
    return fail(name, f"{call} failed: {code}: {message}", fix)


def check_credentials(clients: AwsClients) -> tuple[CheckResult, Identity | None]:
    name = "credentials"
    try:
        reply = clients.sts.get_caller_identity()
    except NoCredentialsError:
        fix = "sign in (aws sso login, or aws configure) or set AWS_PROFILE / AWS_ACCESS_KEY_ID"
        return fail(name, "no AWS credentials found", fix), None
    except (ClientError, BotoCoreError) as error:
        code, message = _problem(error)
        fix = "refresh the credentials (aws sso login) or check AWS_PROFILE"
        return fail(name, f"sts:GetCallerIdentity failed: {code}: {message}", fix), None
    identity = Identity(str(reply["Account"]), str(reply["Arn"]))
    regions = sorted({clients.bedrock_region, clients.sagemaker_region})
    detail = f"{identity.arn} (account {identity.account}), region {', '.join(regions)}"
    return ok(name, detail), identity


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
    if route.foundation_model is None:
        return route, [ok(name, f"{route.model_id}: an ARN; access is checked by IAM below")]
    results = []
    if route.geography is not None:
        route, profile_result = _check_profile(name, setting, route, clients)
        results.append(profile_result)
    else:
        results.append(_check_on_demand(name, setting, route, clients))
    results.append(_check_access(name, route.foundation_model, clients))
    return route, results


def _check_profile(
    name: str, setting: str, route: ModelRoute, clients: AwsClients
) -> tuple[ModelRoute, CheckResult]:
    region = clients.bedrock_region
    try:
        profile = clients.bedrock.get_inference_profile(inferenceProfileIdentifier=route.model_id)
    except (ClientError, BotoCoreError) as error:
        code, _ = _problem(error)
        if code == "ResourceNotFoundException":
            detail = f"no inference profile {route.model_id} in {region}"
            fix = f"set {setting} to one of: aws bedrock list-inference-profiles --region {region}"
            return route, fail(name, detail, fix)
        return route, _call_failed(name, "bedrock:GetInferenceProfile", error, f"check {setting}")
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
        code, _ = _problem(error)
        if code in {"ResourceNotFoundException", "ValidationException"}:
            detail = f"no foundation model {route.foundation_model} in {region}"
            fix = f"set {setting} to one of: aws bedrock list-foundation-models --region {region}"
            return fail(name, detail, fix)
        return _call_failed(name, "bedrock:GetFoundationModel", error, f"check {setting}")
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
        return _call_failed(name, "bedrock:GetFoundationModelAvailability", error, fix)
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


def check_knowledge_base(settings: Settings, clients: AwsClients) -> list[CheckResult]:
    name = "knowledge base"
    if settings.retriever != "bedrock-kb":
        return [skip(name, f"retriever is {settings.retriever}")]
    kb_id = settings.bedrock.knowledge_base_id
    if not kb_id:
        fix = "set FMT_BEDROCK__KNOWLEDGE_BASE_ID to the KnowledgeBaseId output of the CDK stack"
        return [fail(name, "FMT_BEDROCK__KNOWLEDGE_BASE_ID is not set", fix)]
    region = clients.bedrock_region
    try:
        kb = clients.bedrock_agent.get_knowledge_base(knowledgeBaseId=kb_id)["knowledgeBase"]
    except (ClientError, BotoCoreError) as error:
        code, _ = _problem(error)
        fix = (
            "set FMT_BEDROCK__KNOWLEDGE_BASE_ID to the KnowledgeBaseId output of the CDK stack "
            f"in {region} (or AWS_REGION to the stack's region)"
        )
        if code == "ResourceNotFoundException":
            return [fail(name, f"no Knowledge Base {kb_id} in {region}", fix)]
        return [_call_failed(name, "bedrock:GetKnowledgeBase", error, fix)]
    status = kb.get("status")
    if status != "ACTIVE":
        reasons = "; ".join(kb.get("failureReasons", []))
        detail = f"{kb_id} ({kb.get('name')}) is {status}" + (f": {reasons}" if reasons else "")
        return [fail(name, detail, "wait for ACTIVE, or redeploy the CDK stack if FAILED")]
    return [ok(name, f"{kb_id} ({kb.get('name')}) ACTIVE"), *_check_ingestion(kb_id, clients)]


def _check_ingestion(kb_id: str, clients: AwsClients) -> list[CheckResult]:
    name = "knowledge base data"
    sync_fix = "sync the catalog: python -m infra.kb_sync"
    try:
        sources = clients.bedrock_agent.list_data_sources(knowledgeBaseId=kb_id)
    except (ClientError, BotoCoreError) as error:
        return [_call_failed(name, "bedrock:ListDataSources", error, sync_fix)]
    summaries = sources.get("dataSourceSummaries", [])
    if not summaries:
        return [fail(name, f"{kb_id} has no data source", "deploy the CDK stack (cdk deploy)")]
    results = []
    for source in summaries:
        source_id = source["dataSourceId"]
        try:
            jobs = clients.bedrock_agent.list_ingestion_jobs(
                knowledgeBaseId=kb_id,
                dataSourceId=source_id,
                sortBy={"attribute": "STARTED_AT", "order": "DESCENDING"},
                maxResults=1,
            ).get("ingestionJobSummaries", [])
        except (ClientError, BotoCoreError) as error:
            results.append(_call_failed(name, "bedrock:ListIngestionJobs", error, sync_fix))
            continue
        results.append(_ingestion_result(name, source_id, jobs, sync_fix))
    return results


def _ingestion_result(
    name: str, source_id: str, jobs: list[dict[str, Any]], sync_fix: str
) -> CheckResult:
    if not jobs:
        return fail(name, f"data source {source_id} was never ingested", sync_fix)
    last = jobs[0]
    stats = last.get("statistics", {})
    when = last.get("startedAt")
    detail = (
        f"data source {source_id}: last ingestion {last['status']} (started {when}, "
        f"{stats.get('numberOfNewDocumentsIndexed', 0)} new, "
        f"{stats.get('numberOfDocumentsFailed', 0)} failed)"
    )
    if last["status"] != "COMPLETE":
        return fail(name, detail, f"wait for it, or {sync_fix} and read its failure reasons")
    if stats.get("numberOfDocumentsFailed"):
        return fail(name, detail, f"fix the failed documents, then {sync_fix}")
    return ok(name, detail)


def check_endpoints(settings: Settings, clients: AwsClients) -> list[CheckResult]:
    endpoints = sagemaker_endpoints(settings)
    if not endpoints:
        if "sagemaker" in (settings.generator, settings.tuned_generator):
            fix = "set FMT_SAGEMAKER__ENDPOINT_NAME (python -m infra.finetune sagemaker-deploy)"
            return [fail("sagemaker endpoint", "FMT_SAGEMAKER__ENDPOINT_NAME is not set", fix)]
        return [skip("sagemaker endpoint", "no generator is sagemaker")]
    return [_check_endpoint(endpoint, clients) for endpoint in endpoints]


def _check_endpoint(endpoint: str, clients: AwsClients) -> CheckResult:
    name = f"sagemaker endpoint {endpoint}"
    region = clients.sagemaker_region
    setting_fix = (
        f"set FMT_SAGEMAKER__ENDPOINT_NAME to one of `aws sagemaker list-endpoints --region "
        f"{region}`, or deploy one: python -m infra.finetune sagemaker-deploy"
    )
    try:
        described = clients.sagemaker.describe_endpoint(EndpointName=endpoint)
    except (ClientError, BotoCoreError) as error:
        code, message = _problem(error)
        if code == "ValidationException" and "not find" in message.lower():
            return fail(name, f"no endpoint {endpoint} in {region}", setting_fix)
        return _call_failed(name, "sagemaker:DescribeEndpoint", error, setting_fix)
    status = described.get("EndpointStatus")
    if status in {"Creating", "Updating", "SystemUpdating"}:
        fix = f"wait: aws sagemaker wait endpoint-in-service --endpoint-name {endpoint}"
        return fail(name, f"{status}, not yet InService", fix)
    if status != "InService":
        reason = described.get("FailureReason", "")
        fix = "delete it (python -m infra.finetune sagemaker-delete) and deploy again"
        return fail(name, f"{status}: {reason}".rstrip(": "), fix)
    return ok(name, f"InService, {_instances(described, clients)}")


def _instances(described: dict[str, Any], clients: AwsClients) -> str:
    try:
        config = clients.sagemaker.describe_endpoint_config(
            EndpointConfigName=described["EndpointConfigName"]
        )
    except (ClientError, BotoCoreError) as error:
        return f"instance type unknown ({_problem(error)[0]})"
    counts = {
        variant.get("VariantName"): variant.get("CurrentInstanceCount")
        for variant in described.get("ProductionVariants", [])
    }
    return ", ".join(
        f"{variant.get('InstanceType', 'serverless')} "
        f"x{counts.get(variant.get('VariantName'), '?')}"
        for variant in config.get("ProductionVariants", [])
    )


def principal_arn(identity: Identity, clients: AwsClients) -> str | None:
    """The IAM ARN to simulate for the caller; None for the root user."""
    arn = identity.arn
    if arn.endswith(":root"):
        return None
    if ":assumed-role/" in arn:
        role_name = arn.split(":assumed-role/", 1)[1].split("/", 1)[0]
        try:
            return str(clients.iam.get_role(RoleName=role_name)["Role"]["Arn"])
        except (ClientError, BotoCoreError):  # a role with a path needs GetRole; else guess
            return f"arn:aws:iam::{identity.account}:role/{role_name}"
    return arn


def check_permissions(
    calls: list[ServiceCall], identity: Identity, clients: AwsClients
) -> list[CheckResult]:
    principal = principal_arn(identity, clients)
    if principal is None:
        return [skip("permissions", "the root user may make every call (do not serve as root)")]
    if not calls:
        return [skip("permissions", "no AWS backend configured")]
    return [_simulate(call, principal, clients) for call in calls]


def _simulate(call: ServiceCall, principal: str, clients: AwsClients) -> CheckResult:
    name = f"permission: {call.purpose}"
    denied: list[str] = []
    arguments: dict[str, Any] = {
        "PolicySourceArn": principal,
        "ActionNames": list(call.actions),
        "ResourceArns": list(call.resources),
    }
    try:
        while True:
            reply = clients.iam.simulate_principal_policy(**arguments)
            denied += [
                f"{result['EvalActionName']} on {result.get('EvalResourceName', '*')}"
                for result in reply.get("EvaluationResults", [])
                if result.get("EvalDecision") != "allowed"
            ]
            if not reply.get("IsTruncated"):
                break
            arguments["Marker"] = reply["Marker"]
    except (ClientError, BotoCoreError) as error:
        fix = f"allow iam:SimulatePrincipalPolicy on {principal}, or compare with {IAM_DOC}"
        return _call_failed(name, "iam:SimulatePrincipalPolicy", error, fix)
    if denied:
        detail = f"{principal} is denied " + "; ".join(denied)
        return fail(name, detail, f"allow them in the service's IAM policy ({IAM_DOC})")
    return ok(name, f"{', '.join(call.actions)} allowed on {len(call.resources)} resource(s)")


def run_checks(settings: Settings, clients: AwsClients) -> list[CheckResult]:
    """Every check, in the order a person fixes them: credentials first, permissions last."""
    credentials, identity = check_credentials(clients)
    if identity is None:
        return [credentials, skip("everything else", "needs working credentials")]
    model_results, routes = check_bedrock_models(settings, clients)
    results = [
        credentials,
        *model_results,
        *check_knowledge_base(settings, clients),
        *check_endpoints(settings, clients),
    ]
    calls = service_calls(settings, routes, clients.bedrock_region, identity.account)
    results += check_permissions(calls, identity, clients)
    return results
