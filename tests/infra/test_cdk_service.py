"""The service stack: autoscaling, health checks, the WAF limit, least privilege, secrets, alarms,
the dashboard, the endpoint's autoscaling, and cfn-lint over every synthesized template."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import string
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("aws_cdk", reason="the infra extra (aws-cdk-lib) is not installed")

from fastapi.testclient import TestClient

from app.generators.bedrock import BedrockGenerator
from app.generators.bedrock_models import invocation_arns, resolve_model_id
from app.generators.sagemaker import SageMakerGenerator
from app.http.schemas import ReadyResponse
from app.main import create_app
from app.retrievers.bedrock_kb import BedrockKnowledgeBaseRetriever
from app.settings import Settings
from app.wiring.compose import GENERATOR_FACTORIES, RETRIEVER_FACTORIES, Backends, build_backends
from app.wiring.fakes import FakeGenerator, FakeRetriever
from infra.cdk import app as cdk_app
from infra.cdk.bedrock_routes import bedrock_routes
from infra.cdk.log_metrics import CIRCUIT_PATTERN, ERRORS_PATTERN, LATENCY_PATTERN
from infra.cdk.service_settings import ServiceSettings
from infra.cdk.settings import InfraSettings
from tests.infra.iam_policy import Call, decide, unused_grants
from tests.infra.test_cdk_stack import as_list, render
from tests.loopback_http import QuietHandler, serving_on_loopback
from tests.middleware.test_observability import access_lines, make_client

DEPLOYER = "arn:aws:iam::123456789012:role/Deployer"
CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/abc"
SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:fm-tailor-keys-AbCdEf"
# CDK writes a cross-stack reference as an import of the Knowledge Base stack's export.
DEFAULT_REGION = "us-east-1"
ACCOUNT = "123456789012"
KNOWLEDGE_BASE_ID = "KBCATALOG1"
KB_IMPORT = re.compile(r"^\$\{Import:.+KnowledgeBaseId.+\}$")
# The same import inside a longer value (an ARN).
KB_IMPORT_IN = re.compile(r"\$\{Import:[^}]*KnowledgeBaseId[^}]*\}")


def variants() -> dict[str, InfraSettings]:
    """Each vector store and each shape of the service: the default (HTTP, the tuned model in
    the image), AWS backends with HTTPS and an endpoint, and an endpoint that scales to zero."""
    common: dict[str, Any] = {"_env_file": None}
    return {
        "default": InfraSettings(
            **common, region=DEFAULT_REGION, stack_name="Kb", service={"stack_name": "Svc"}
        ),
        "aws": InfraSettings(
            **common,
            region="us-west-2",
            stack_name="KbOpenSearch",
            vector_store="opensearch-serverless",
            opensearch={"deployer_principal_arns": [DEPLOYER]},
            service={
                "stack_name": "SvcAws",
                "model_id": "us.meta.llama3-1-8b-instruct-v1:0",
                "tuned_generator": "sagemaker",
                "certificate_arn": CERTIFICATE,
                "api_key_digests_secret_arn": SECRET,
                "scaling": {"min_tasks": 3, "max_tasks": 20, "requests_per_target": 500},
                "waf": {"requests_per_client": 1200, "window_s": 300},
                "endpoint": {"name": "FmTailor-Tuned", "min_capacity": 1, "max_capacity": 4},
                "alarms": {"email": "ops@example.com"},
            },
        ),
        "zero": InfraSettings(
            **common,
            stack_name="KbPrivate",
            vector_store="opensearch-serverless",
            opensearch={"deployer_principal_arns": [DEPLOYER], "public_endpoint": False},
            service={
                "stack_name": "SvcZero",
                "nat_gateways": 0,
                "retriever": "local",
                "generator": "sagemaker",
                "tuned_generator": "sagemaker",
                "endpoint": {
                    "name": "fm-tailor-tuned",
                    "inference_component": "fm-tailor-tuned-ic",
                    "min_capacity": 0,
                    "max_capacity": 2,
                },
            },
        ),
    }


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every variant once for the module (the CDK's node runtime is slow to start); the default
    through `python -m infra.cdk.app`, as `make synth` runs it."""
    outdir = tmp_path_factory.mktemp("cdk.out")
    files: dict[str, list[Path]] = {}
    printed = io.StringIO()
    with pytest.MonkeyPatch.context() as environment:
        for name in list(os.environ):
            if name.startswith("FMT_INFRA_"):
                environment.delenv(name)
        environment.setenv("FMT_INFRA_STACK_NAME", "Kb")
        environment.setenv("FMT_INFRA_REGION", DEFAULT_REGION)
        environment.setenv("FMT_INFRA_SERVICE__STACK_NAME", "Svc")
        with contextlib.redirect_stdout(printed):
            assert cdk_app.main(["--outdir", str(outdir / "default")]) == 0
    files["default"] = [outdir / "default" / f"{name}.template.json" for name in ("Kb", "Svc")]
    for name, settings in variants().items():
        if name != "default":
            files[name] = cdk_app.synthesize(settings, outdir / name)
    templates = {name: json.loads(paths[1].read_text()) for name, paths in files.items()}
    return {"files": files, "templates": templates, "printed": printed.getvalue()}


def resources(template: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    return [r for r in template["Resources"].values() if r["Type"] == resource_type]


def one(template: dict[str, Any], resource_type: str) -> dict[str, Any]:
    (found,) = resources(template, resource_type)
    return found


def container(template: dict[str, Any]) -> dict[str, Any]:
    (definition,) = one(template, "AWS::ECS::TaskDefinition")["Properties"]["ContainerDefinitions"]
    assert isinstance(definition, dict)
    return definition


def task_role_permissions(template: dict[str, Any]) -> set[tuple[str, str]]:
    """(action, resource) pairs of every policy on the task role, which has no other policies."""
    task_definition = one(template, "AWS::ECS::TaskDefinition")["Properties"]
    role_id = task_definition["TaskRoleArn"]["Fn::GetAtt"][0]
    role = template["Resources"][role_id]["Properties"]
    assert "ManagedPolicyArns" not in role and "Policies" not in role
    allowed: set[tuple[str, str]] = set()
    for policy in resources(template, "AWS::IAM::Policy"):
        if {"Ref": role_id} not in policy["Properties"]["Roles"]:
            continue
        for statement in render(policy["Properties"]["PolicyDocument"])["Statement"]:
            assert statement["Effect"] == "Allow" and "NotAction" not in statement
            for action in as_list(statement["Action"]):
                allowed.update((action, str(target)) for target in as_list(statement["Resource"]))
    return allowed


def render_imports(value: Any) -> Any:
    """`render`, with Fn::ImportValue written as `${Import:name}`."""
    if isinstance(value, dict) and set(value) == {"Fn::ImportValue"}:
        return f"${{Import:{value['Fn::ImportValue']}}}"
    if isinstance(value, dict) and set(value) == {"Fn::Join"}:
        separator, parts = value["Fn::Join"]
        return separator.join(str(render_imports(part)) for part in parts)
    if isinstance(value, dict):
        return render({key: render_imports(item) for key, item in value.items()})
    if isinstance(value, list):
        return [render_imports(item) for item in value]
    return render(value)


def test_synth_prints_the_service_stack_beside_the_knowledge_base(
    synthesized: dict[str, Any],
) -> None:
    text = synthesized["printed"]
    assert "stack Kb (vector store: s3-vectors)" in text
    assert "stack Svc (retriever: bedrock-kb, generator: bedrock, tuned generator: local)" in text
    for resource_type in ("AWS::ECS::Service", "AWS::WAFv2::WebACL", "AWS::CloudWatch::Dashboard"):
        assert f"1 x {resource_type}" in text
    assert "output ServiceUrl" in text


def test_tasks_scale_on_requests_per_target_and_cpu_between_the_settings(
    synthesized: dict[str, Any],
) -> None:
    for name, expected in {"default": (2, 10, 300), "aws": (3, 20, 500)}.items():
        template = synthesized["templates"][name]
        targets = [
            t["Properties"]
            for t in resources(template, "AWS::ApplicationAutoScaling::ScalableTarget")
            if t["Properties"]["ServiceNamespace"] == "ecs"
        ]
        ((minimum, maximum),) = [(t["MinCapacity"], t["MaxCapacity"]) for t in targets]
        assert (minimum, maximum) == expected[:2]
        tracking = {
            policy["Properties"]["TargetTrackingScalingPolicyConfiguration"][
                "PredefinedMetricSpecification"
            ]["PredefinedMetricType"]: policy["Properties"][
                "TargetTrackingScalingPolicyConfiguration"
            ]["TargetValue"]
            for policy in resources(template, "AWS::ApplicationAutoScaling::ScalingPolicy")
            if "TargetTrackingScalingPolicyConfiguration" in policy["Properties"]
            and policy["Properties"]["ScalingTargetId"]["Ref"].startswith("ServiceTaskCount")
        }
        assert tracking == {
            "ALBRequestCountPerTarget": expected[2],
            "ECSServiceAverageCPUUtilization": 60,
        }
        assert one(template, "AWS::ECS::Service")["Properties"]["DesiredCount"] == expected[0]


@contextlib.contextmanager
def answering_ready(status: int, body: ReadyResponse) -> Iterator[int]:
    """A server on 127.0.0.1 answering GET /ready as the service does; yields its port."""

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            payload = body.model_dump_json().encode()
            self.send_response(status if self.path == "/ready" else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    with serving_on_loopback(Handler) as port:
        yield port


def test_load_balancer_checks_health_and_the_container_checks_readiness(
    synthesized: dict[str, Any],
) -> None:
    template = synthesized["templates"]["default"]
    group = one(template, "AWS::ElasticLoadBalancingV2::TargetGroup")["Properties"]
    assert group["HealthCheckPath"] == "/health" and group["Port"] == 8000
    command: list[str] = container(template)["HealthCheck"]["Command"]
    assert command[:3] == ["CMD", "python", "-c"]
    probe, script = [sys.executable, "-c"], command[3]
    answers = {
        "ready": (200, ReadyResponse(ready=True)),
        "loading": (503, ReadyResponse(ready=False, detail="loading")),
        "failed to start": (503, ReadyResponse(ready=False, detail="FMT_BEDROCK__X missing")),
        "a backend's circuit open": (
            503,
            ReadyResponse(ready=False, detail="circuit open: base", circuits={"base": "open"}),
        ),
    }
    healthy = {}
    for name, (status, body) in answers.items():
        with answering_ready(status, body) as port:
            result = subprocess.run(
                [*probe, script.replace(":8000/", f":{port}/")], capture_output=True, check=False
            )
        healthy[name] = result.returncode == 0
    # ECS replaces an unhealthy task: right for one that never loaded, useless for a backend
    # outage, which a new task would meet again.
    assert healthy == {
        "ready": True,
        "loading": False,
        "failed to start": False,
        "a backend's circuit open": True,
    }


def test_replicas_log_json_to_cloudwatch_and_trust_the_load_balancers_forwarding(
    synthesized: dict[str, Any],
) -> None:
    definition = container(synthesized["templates"]["default"])
    environment = {item["Name"]: item["Value"] for item in definition["Environment"]}
    assert environment["FMT_LOG_FORMAT"] == "json"
    assert environment["FMT_HOST"] == "0.0.0.0"
    # Only the VPC (the load balancer's nodes) is trusted to say who the client is; never "*".
    assert environment["FMT_TRUSTED_PROXIES"] == "10.0.0.0/16"
    assert "FORWARDED_ALLOW_IPS" not in environment
    assert KB_IMPORT.match(render_imports(environment["FMT_BEDROCK__KNOWLEDGE_BASE_ID"]))
    log = definition["LogConfiguration"]
    assert log["LogDriver"] == "awslogs"


def container_environment(template: dict[str, Any], region: str) -> dict[str, str]:
    """The container's variables as a task in `region` sees them (the KB id an import)."""
    rendered = {
        item["Name"]: str(render_imports(item["Value"]))
        for item in container(template)["Environment"]
    }
    return {
        name: KB_IMPORT_IN.sub(KNOWLEDGE_BASE_ID, value).replace("${AWS::Region}", region)
        for name, value in rendered.items()
    }


def task_role_statements(template: dict[str, Any], region: str) -> list[dict[str, Any]]:
    """Every statement of every policy on the task role, with the pseudo parameters filled in."""
    task_definition = one(template, "AWS::ECS::TaskDefinition")["Properties"]
    role_id = task_definition["TaskRoleArn"]["Fn::GetAtt"][0]
    role = template["Resources"][role_id]["Properties"]
    assert "ManagedPolicyArns" not in role and "Policies" not in role
    statements: list[dict[str, Any]] = []
    for policy in resources(template, "AWS::IAM::Policy"):
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            document = json.dumps(render_imports(policy["Properties"]["PolicyDocument"]))
            for name, value in {
                "${AWS::Partition}": "aws",
                "${AWS::Region}": region,
                "${AWS::AccountId}": ACCOUNT,
            }.items():
                document = document.replace(name, value)
            statements += json.loads(KB_IMPORT_IN.sub(KNOWLEDGE_BASE_ID, document))["Statement"]
    return statements


def calls_of(backends: Backends, region: str) -> list[Call]:
    """The AWS calls the built backends make, as IAM authorizes them: Converse and
    ConverseStream as InvokeModel(WithResponseStream) on the id each generator calls (a
    profile, then the foundation model in the region it routes to), Retrieve on the Knowledge
    Base, InvokeEndpoint(WithResponseStream) on the endpoint."""
    calls: list[Call] = []
    if isinstance(backends.retriever, BedrockKnowledgeBaseRetriever):
        knowledge_base = backends.retriever.knowledge_base_id
        arn = f"arn:aws:bedrock:{region}:{ACCOUNT}:knowledge-base/{knowledge_base}"
        calls.append(Call("bedrock:Retrieve", arn))
    for generator in {
        id(g): g for g in (backends.base_generator, backends.tuned_generator)
    }.values():
        if isinstance(generator, BedrockGenerator):
            route = resolve_model_id(generator.model_id, region)
            arns = invocation_arns(route, region, ACCOUNT)
            profile = arns[0] if route.geography is not None else None
            for action in ("bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"):
                calls.append(Call(action, arns[0]))
                if profile is not None:
                    context = {"bedrock:InferenceProfileArn": profile}
                    calls += [Call(action, arn, context) for arn in arns[1:]]
        elif isinstance(generator, SageMakerGenerator):
            endpoint = generator.model_id.split("/")[0].lower()
            arn = f"arn:aws:sagemaker:{region}:{ACCOUNT}:endpoint/{endpoint}"
            calls += [
                Call("sagemaker:InvokeEndpoint", arn),
                Call("sagemaker:InvokeEndpointWithResponseStream", arn),
            ]
    return calls


def local_fakes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The embedded backends (models loaded in the image) as fakes; the AWS ones stay real."""
    monkeypatch.setitem(RETRIEVER_FACTORIES, "local", lambda settings: FakeRetriever([]))
    monkeypatch.setitem(GENERATOR_FACTORIES, "local", lambda settings, role: FakeGenerator())


# The region a task of each variant runs in: the stack's, else one a deploy could choose.
TASK_REGIONS = {"default": DEFAULT_REGION, "aws": "us-west-2", "zero": "eu-west-1"}


@pytest.mark.parametrize("variant", ["default", "aws", "zero"])
def test_the_service_starts_with_the_stack_environment_and_its_role_allows_exactly_its_calls(
    synthesized: dict[str, Any], variant: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    region = TASK_REGIONS[variant]
    for name in list(os.environ):
        if name.startswith(("FMT_", "AWS_")):
            monkeypatch.delenv(name)
    for name, value in container_environment(synthesized["templates"][variant], region).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("FMT_API_KEYS", "f" * 64)  # what the secret holds
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")  # the task role's, in ECS
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    local_fakes(monkeypatch)
    settings = Settings(_env_file=None)

    # What the lifespan does before /ready turns 200: build every backend, then compose.
    backends = build_backends(settings)
    with TestClient(create_app(settings, backends=backends)) as client:
        ready = client.get("/ready")
    assert ready.status_code == 200, ready.text

    service = variants()[variant].service
    assert (settings.retriever, settings.generator, settings.tuned_generator) == (
        service.retriever,
        service.generator,
        service.tuned_generator,
    )
    assert settings.log_format == "json" and settings.api_keys == ["f" * 64]
    statements = task_role_statements(synthesized["templates"][variant], region)
    calls = calls_of(backends, region)
    assert calls, "every variant calls AWS"
    assert [c for c in calls if decide(statements, c) != "allowed"] == []
    assert unused_grants(statements, calls) == []
    # A call the service does not make is refused: the foundation model called directly.
    for call in calls:
        if call.context:
            assert decide(statements, Call(call.action, call.resource)) == "implicitly denied"


def test_the_default_model_outside_its_profiles_geography_fails_the_synth_naming_the_setting() -> (
    None
):
    with pytest.raises(ValueError, match="FMT_INFRA_SERVICE__MODEL_ID"):
        bedrock_routes(ServiceSettings(), "eu-west-1")
    with pytest.raises(ValueError, match="FMT_INFRA_REGION"):
        bedrock_routes(ServiceSettings(), None)
    (route,) = bedrock_routes(ServiceSettings(), "us-east-2").values()
    assert route.model_id == "us.meta.llama3-1-8b-instruct-v1:0"


def test_api_key_digests_come_from_secrets_manager_and_start_locked(
    synthesized: dict[str, Any],
) -> None:
    template = synthesized["templates"]["default"]
    (secret,) = container(template)["Secrets"]
    assert secret["Name"] == "FMT_API_KEYS"
    generated = one(template, "AWS::SecretsManager::Secret")["Properties"]["GenerateSecretString"]
    # What Secrets Manager may draw from: the generated value must pass the service's validation
    # as one digest, or the replicas would refuse to start.
    alphabet = set(string.ascii_lowercase + string.digits)
    alphabet -= set(generated["ExcludeCharacters"])
    assert generated["ExcludePunctuation"] and generated["ExcludeUppercase"]
    assert alphabet == set("0123456789abcdef") and generated["PasswordLength"] == 64
    aws = synthesized["templates"]["aws"]
    assert not resources(aws, "AWS::SecretsManager::Secret")
    (given,) = container(aws)["Secrets"]
    assert given["ValueFrom"] == SECRET


def test_tasks_sit_behind_nat_or_in_public_subnets_reachable_only_from_the_alb(
    synthesized: dict[str, Any],
) -> None:
    networks = {}
    for name in ("default", "zero"):
        template = synthesized["templates"][name]
        configuration = one(template, "AWS::ECS::Service")["Properties"]["NetworkConfiguration"]
        networks[name] = (
            configuration["AwsvpcConfiguration"]["AssignPublicIp"],
            len(resources(template, "AWS::EC2::NatGateway")),
        )
        ingress = [
            r["Properties"]
            for r in resources(template, "AWS::EC2::SecurityGroupIngress")
            if r["Properties"].get("FromPort") == 8000
        ]
        (only_from_alb,) = ingress
        assert "SourceSecurityGroupId" in only_from_alb and "CidrIp" not in only_from_alb
    assert networks == {"default": ("DISABLED", 1), "zero": ("ENABLED", 0)}


def test_https_with_a_certificate_and_plain_http_without(synthesized: dict[str, Any]) -> None:
    plain = resources(synthesized["templates"]["default"], "AWS::ElasticLoadBalancingV2::Listener")
    assert [(r["Properties"]["Port"], r["Properties"]["Protocol"]) for r in plain] == [(80, "HTTP")]
    secure = {
        r["Properties"]["Port"]: r["Properties"]
        for r in resources(synthesized["templates"]["aws"], "AWS::ElasticLoadBalancingV2::Listener")
    }
    assert secure[443]["Protocol"] == "HTTPS"
    assert secure[443]["Certificates"] == [{"CertificateArn": CERTIFICATE}]
    (redirect,) = secure[80]["DefaultActions"]
    assert redirect["RedirectConfig"]["Port"] == "443"


def test_waf_limits_each_key_and_each_keyless_address_across_the_fleet(
    synthesized: dict[str, Any],
) -> None:
    template = synthesized["templates"]["aws"]
    web_acl = one(template, "AWS::WAFv2::WebACL")["Properties"]
    association = one(template, "AWS::WAFv2::WebACLAssociation")["Properties"]
    assert association["ResourceArn"]["Ref"].startswith("LoadBalancer")
    statements = {
        rule["Name"]: rule["Statement"]["RateBasedStatement"] for rule in web_acl["Rules"]
    }
    assert set(statements) == {"rate-per-x-api-key", "rate-per-authorization", "rate-per-address"}
    for statement in statements.values():
        assert (statement["Limit"], statement["EvaluationWindowSec"]) == (1200, 300)
    keyed = statements["rate-per-x-api-key"]["CustomKeys"]
    assert keyed == [
        {"Header": {"Name": "x-api-key", "TextTransformations": [{"Priority": 0, "Type": "NONE"}]}}
    ]
    address = statements["rate-per-address"]
    assert address["AggregateKeyType"] == "IP"
    checked = address["ScopeDownStatement"]["NotStatement"]["Statement"]["OrStatement"]
    headers = {
        s["SizeConstraintStatement"]["FieldToMatch"]["SingleHeader"]["Name"]
        for s in checked["Statements"]
    }
    assert headers == {"x-api-key", "authorization"}
    for rule in web_acl["Rules"]:
        response = rule["Action"]["Block"]["CustomResponse"]
        assert response["ResponseCode"] == 429
        assert response["ResponseHeaders"] == [{"Name": "Retry-After", "Value": "300"}]
    (body,) = web_acl["CustomResponseBodies"].values()
    # The eval runner and clients read WAF's refusal like the service's own.
    assert json.loads(body["Content"])["error"]["code"] == "rate_limited"


def test_endpoint_scales_on_invocations_per_instance_between_the_settings(
    synthesized: dict[str, Any],
) -> None:
    assert not [
        t
        for t in resources(
            synthesized["templates"]["default"], "AWS::ApplicationAutoScaling::ScalableTarget"
        )
        if t["Properties"]["ServiceNamespace"] == "sagemaker"
    ]
    expected = {
        "aws": (
            "endpoint/FmTailor-Tuned/variant/AllTraffic",
            "sagemaker:variant:DesiredInstanceCount",
            1,
            4,
            "SageMakerVariantInvocationsPerInstance",
        ),
        "zero": (
            "inference-component/fm-tailor-tuned-ic",
            "sagemaker:inference-component:DesiredCopyCount",
            0,
            2,
            "SageMakerInferenceComponentInvocationsPerCopy",
        ),
    }
    for name, (resource_id, dimension, minimum, maximum, metric) in expected.items():
        template = synthesized["templates"][name]
        (target,) = [
            t["Properties"]
            for t in resources(template, "AWS::ApplicationAutoScaling::ScalableTarget")
            if t["Properties"]["ServiceNamespace"] == "sagemaker"
        ]
        assert (target["ResourceId"], target["ScalableDimension"]) == (resource_id, dimension)
        assert (target["MinCapacity"], target["MaxCapacity"]) == (minimum, maximum)
        policies = [
            p["Properties"]
            for p in resources(template, "AWS::ApplicationAutoScaling::ScalingPolicy")
            if not p["Properties"]["ScalingTargetId"]["Ref"].startswith("ServiceTaskCount")
        ]
        tracked = [
            p["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"][
                "PredefinedMetricType"
            ]
            for p in policies
            if p["PolicyType"] == "TargetTrackingScaling"
        ]
        assert tracked == [metric]
        stepped = [p for p in policies if p["PolicyType"] == "StepScaling"]
        # Only a component at 0 copies needs a step out of zero (nothing to track per copy).
        assert bool(stepped) == (minimum == 0)


def test_alarms_cover_errors_latency_open_circuits_and_the_model(
    synthesized: dict[str, Any],
) -> None:
    for name, count in {"default": 3, "aws": 4}.items():
        template = synthesized["templates"][name]
        alarms = {
            key: resource["Properties"]
            for key, resource in template["Resources"].items()
            if resource["Type"] == "AWS::CloudWatch::Alarm"
        }
        assert len(alarms) == count
        (topic,) = [k for k, r in template["Resources"].items() if r["Type"] == "AWS::SNS::Topic"]
        assert all(alarm["AlarmActions"] == [{"Ref": topic}] for alarm in alarms.values())
        by_name = {key.split("Alarm")[0]: alarm for key, alarm in alarms.items()}
        expression = [m for m in by_name["ErrorRate"]["Metrics"] if "Expression" in m]
        # A period without any 5xx has no 5xx datapoint: it must count as 0 %, not as no data.
        assert expression[0]["Expression"] == (
            "100 * (FILL(target5xx, 0) + FILL(elb5xx, 0)) / requests"
        )
        assert by_name["Latency"]["ExtendedStatistic"] == "p95"
        assert by_name["Latency"]["MetricName"] == "TargetResponseTime"
        (circuit,) = by_name["OpenCircuit"]["Metrics"]
        assert circuit["MetricStat"]["Metric"]["MetricName"] == "CircuitOpenRefusals"
        assert circuit["MetricStat"]["Metric"]["Namespace"] == "FmTailor"
    model = next(
        r["Properties"]
        for k, r in synthesized["templates"]["aws"]["Resources"].items()
        if k.startswith("ModelLatencyAlarm")
    )
    (latency,) = model["Metrics"]
    stat = latency["MetricStat"]
    assert (stat["Metric"]["MetricName"], stat["Stat"]) == ("ModelLatency", "p95")
    assert model["Threshold"] == 5_000_000  # 5 s in SageMaker's microseconds
    subscriptions = resources(synthesized["templates"]["aws"], "AWS::SNS::Subscription")
    assert [s["Properties"]["Endpoint"] for s in subscriptions] == ["ops@example.com"]


def test_dashboard_puts_the_three_strategies_side_by_side(synthesized: dict[str, Any]) -> None:
    dashboard = one(synthesized["templates"]["default"], "AWS::CloudWatch::Dashboard")
    body = json.loads(render(dashboard["Properties"]["DashboardBody"]))
    first_row = [w for w in body["widgets"] if w["y"] == 0]
    titles = [
        w["properties"]["title"].split(":")[0] for w in sorted(first_row, key=lambda w: w["x"])
    ]
    assert titles == ["/rag", "/finetuned", "/hybrid"]
    for widget in first_row:
        (metric,) = {tuple(m[:4]) for m in widget["properties"]["metrics"]}
        assert metric == (
            "FmTailor",
            "StrategyLatency",
            "Route",
            widget["properties"]["title"].split(":")[0],
        )


def pattern_fields(pattern: str) -> set[str]:
    return set(re.findall(r"\$\.(\w+)", pattern))


async def test_metric_filters_read_fields_the_service_really_logs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from app.core.errors import BackendThrottled
    from app.wiring.fakes import FakeGenerator

    failing = FakeGenerator(failures=lambda call: BackendThrottled("slow down"))
    async with make_client(base=failing, circuit={"failure_threshold": 1}) as client:
        await client.post("/finetuned", json={"question": "q"})
        await client.post("/rag", json={"question": "q"})
        await client.post("/rag", json={"question": "q"})
    lines = access_lines(capsys.readouterr().err)
    finetuned, throttled, refused = lines
    for field in pattern_fields(LATENCY_PATTERN) | pattern_fields(ERRORS_PATTERN):
        assert field in finetuned
    assert finetuned["logger"] == "app.access" and finetuned["route"] == "/finetuned"
    assert isinstance(finetuned["duration_ms"], float)
    assert throttled["status"] >= 500 and refused["status"] >= 500
    term = CIRCUIT_PATTERN.strip('"')
    assert term not in json.dumps(throttled)
    assert term in json.dumps(refused)


def lint(paths: list[Path]) -> subprocess.CompletedProcess[str]:
    # W3005 (a DependsOn also implied by a Ref or GetAtt) is what the CDK itself writes: the ECS
    # service waits on its listener, the Knowledge Base on its index; redundant and harmless.
    binary = Path(sys.executable).parent / "cfn-lint"
    return subprocess.run(
        [str(binary), "--ignore-checks", "W3005", "--", *map(str, paths)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_every_synthesized_template_passes_cfn_lint(synthesized: dict[str, Any]) -> None:
    if not (Path(sys.executable).parent / "cfn-lint").exists():
        pytest.skip("cfn-lint is not installed (the dev extra)")
    paths = [path for files in synthesized["files"].values() for path in files]
    assert len(paths) == 6
    result = lint(paths)
    assert result.returncode == 0, result.stdout + result.stderr


def test_cfn_lint_fails_a_broken_template(tmp_path: Path) -> None:
    if not (Path(sys.executable).parent / "cfn-lint").exists():
        pytest.skip("cfn-lint is not installed (the dev extra)")
    broken = tmp_path / "broken.json"
    broken.write_text(
        json.dumps({"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"Nope": 1}}}})
    )
    assert lint([broken]).returncode != 0
