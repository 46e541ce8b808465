"""`python -m infra.doctor` against an offline account: moto where it implements the call
(STS, IAM roles, the SageMaker control plane, bedrock-agent's GetKnowledgeBase), botocore's
Stubber (requests checked against the service models) for what moto lacks."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from app.settings import Settings
from infra.doctor import __main__ as doctor_main
from infra.doctor.__main__ import main, report
from infra.doctor.aws import AwsClients, Identity
from infra.doctor.checks import run_checks
from infra.doctor.permissions import principal_arn
from infra.doctor.results import CheckResult
from tests.contract.aws_stubs import REGION, use_fake_aws_credentials

ACCOUNT = "123456789012"
KB_ID = "KBCATALOG1"
DATA_SOURCE_ID = "DSCATALOG1"
ENDPOINT = "catalog-llama3-tuned"
PROFILE = "us.meta.llama3-1-8b-instruct-v1:0"
FOUNDATION = "meta.llama3-1-8b-instruct-v1:0"
USER_ARN = f"arn:aws:sts::{ACCOUNT}:user/moto"
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def aws_settings(**changes: Any) -> Settings:
    values: dict[str, Any] = {
        "retriever": "bedrock-kb",
        "generator": "bedrock",
        "tuned_generator": "sagemaker",
        "bedrock": {"knowledge_base_id": KB_ID},
        "sagemaker": {"endpoint_name": ENDPOINT},
    }
    values.update(changes)
    return Settings(_env_file=None, **values)


def profile_reply(status: str = "ACTIVE") -> dict[str, Any]:
    return {
        "inferenceProfileName": "US Meta Llama 3.1 8B Instruct",
        "inferenceProfileArn": f"arn:aws:bedrock:{REGION}:{ACCOUNT}:inference-profile/{PROFILE}",
        "inferenceProfileId": PROFILE,
        "status": status,
        "type": "SYSTEM_DEFINED",
        "models": [
            {"modelArn": f"arn:aws:bedrock:{region}::foundation-model/{FOUNDATION}"}
            for region in ("us-east-1", "us-east-2", "us-west-2")
        ],
    }


def availability_reply(authorization: str = "AUTHORIZED") -> dict[str, Any]:
    return {
        "modelId": FOUNDATION,
        "agreementAvailability": {"status": "AVAILABLE"},
        "authorizationStatus": authorization,
        "entitlementAvailability": "AVAILABLE",
        "regionAvailability": "AVAILABLE",
    }


def knowledge_base_reply(status: str = "ACTIVE") -> dict[str, Any]:
    return {
        "knowledgeBase": {
            "knowledgeBaseId": KB_ID,
            "name": "fm-tailor-catalog",
            "knowledgeBaseArn": f"arn:aws:bedrock:{REGION}:{ACCOUNT}:knowledge-base/{KB_ID}",
            "roleArn": f"arn:aws:iam::{ACCOUNT}:role/kb-role",
            "knowledgeBaseConfiguration": {"type": "VECTOR"},
            "status": status,
            "createdAt": NOW,
            "updatedAt": NOW,
        }
    }


def ingestion_jobs(status: str = "COMPLETE") -> dict[str, Any]:
    return {
        "ingestionJobSummaries": [
            {
                "knowledgeBaseId": KB_ID,
                "dataSourceId": DATA_SOURCE_ID,
                "ingestionJobId": "JOB1",
                "status": status,
                "startedAt": NOW,
                "updatedAt": NOW,
                "statistics": {"numberOfNewDocumentsIndexed": 7, "numberOfDocumentsFailed": 0},
            }
        ]
    }


class Account:
    """The doctor's clients: moto behind STS and SageMaker, Stubbers for the rest."""

    def __init__(self) -> None:
        session = boto3.session.Session(region_name=REGION)
        self.sagemaker = session.client("sagemaker")
        self.clients = AwsClients(
            sts=session.client("sts"),
            iam=session.client("iam"),
            bedrock=session.client("bedrock"),
            bedrock_agent=session.client("bedrock-agent"),
            sagemaker=self.sagemaker,
            bedrock_region=REGION,
            sagemaker_region=REGION,
        )
        self.bedrock = Stubber(self.clients.bedrock)
        self.agent = Stubber(self.clients.bedrock_agent)
        self.iam = Stubber(self.clients.iam)

    def deploy_endpoint(self, name: str = ENDPOINT) -> None:
        self.sagemaker.create_model(
            ModelName=name,
            ExecutionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/sagemaker",
            PrimaryContainer={"Image": "763104351884.dkr.ecr.us-east-1.amazonaws.com/djl:lmi"},
        )
        self.sagemaker.create_endpoint_config(
            EndpointConfigName=name,
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": name,
                    "InstanceType": "ml.g4dn.12xlarge",
                    "InitialInstanceCount": 1,
                }
            ],
        )
        self.sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name)

    def healthy_bedrock(self) -> None:
        self.bedrock.add_response(
            "get_inference_profile", profile_reply(), {"inferenceProfileIdentifier": PROFILE}
        )
        self.bedrock.add_response(
            "get_foundation_model_availability", availability_reply(), {"modelId": FOUNDATION}
        )

    def healthy_knowledge_base(self) -> None:
        self.agent.add_response(
            "get_knowledge_base", knowledge_base_reply(), {"knowledgeBaseId": KB_ID}
        )
        self.agent.add_response(
            "list_data_sources",
            {
                "dataSourceSummaries": [
                    {
                        "knowledgeBaseId": KB_ID,
                        "dataSourceId": DATA_SOURCE_ID,
                        "name": "catalog",
                        "status": "AVAILABLE",
                        "updatedAt": NOW,
                    }
                ]
            },
            {"knowledgeBaseId": KB_ID},
        )
        self.agent.add_response(
            "list_ingestion_jobs",
            ingestion_jobs(),
            {
                "knowledgeBaseId": KB_ID,
                "dataSourceId": DATA_SOURCE_ID,
                "sortBy": {"attribute": "STARTED_AT", "order": "DESCENDING"},
                "maxResults": 1,
            },
        )

    def __enter__(self) -> Account:
        for stubber in (self.bedrock, self.agent, self.iam):
            stubber.activate()
        return self

    def __exit__(self, *_: object) -> None:
        for stubber in (self.bedrock, self.agent, self.iam):
            stubber.deactivate()


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> Iterator[Account]:
    use_fake_aws_credentials(monkeypatch)
    with mock_aws():
        yield Account()


def simulation_result(action: str, resource: str, decision: str) -> dict[str, Any]:
    return {"EvalActionName": action, "EvalResourceName": resource, "EvalDecision": decision}


def allow_all(account: Account, calls: int) -> list[dict[str, Any]]:
    requests: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        requests.append(dict(params))

    account.clients.iam.meta.events.register(
        "provide-client-params.iam.SimulatePrincipalPolicy", record
    )
    for _ in range(calls):
        account.iam.add_response("simulate_principal_policy", {"EvaluationResults": []})
    return requests


def lines(results: list[CheckResult]) -> str:
    out = io.StringIO()
    report(results, out)
    return out.getvalue()


def test_a_ready_account_passes_every_check(account: Account) -> None:
    account.deploy_endpoint()
    account.healthy_bedrock()
    account.healthy_knowledge_base()
    simulated = allow_all(account, calls=3)

    with account:
        results = run_checks(aws_settings(), account.clients)
    text = lines(results)

    assert [r for r in results if r.verdict == "fail"] == [], text
    assert "InService, ml.g4dn.12xlarge x1" in text
    assert "routes to us-east-1, us-east-2, us-west-2" in text
    assert "last ingestion COMPLETE" in text
    # One simulation per call the service makes, each for the caller on the exact resources.
    assert [request["PolicySourceArn"] for request in simulated] == [USER_ARN] * 3
    converse, retrieve, invoke = simulated
    assert converse["ActionNames"] == [
        "bedrock:InvokeModel",
        "bedrock:InvokeModelWithResponseStream",
    ]
    assert converse["ResourceArns"] == [
        f"arn:aws:bedrock:{REGION}:{ACCOUNT}:inference-profile/{PROFILE}",
        *(
            f"arn:aws:bedrock:{region}::foundation-model/{FOUNDATION}"
            for region in ("us-east-1", "us-east-2", "us-west-2")
        ),
    ]
    assert retrieve["ResourceArns"] == [
        f"arn:aws:bedrock:{REGION}:{ACCOUNT}:knowledge-base/{KB_ID}"
    ]
    assert invoke["ResourceArns"] == [f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{ENDPOINT}"]


def test_an_endpoint_still_creating_fails_with_the_wait_command(account: Account) -> None:
    stubbed = Stubber(account.sagemaker)
    stubbed.add_response(
        "describe_endpoint",
        {
            "EndpointName": ENDPOINT,
            "EndpointArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{ENDPOINT}",
            "EndpointConfigName": ENDPOINT,
            "EndpointStatus": "Creating",
            "CreationTime": NOW,
            "LastModifiedTime": NOW,
        },
    )
    settings = aws_settings(retriever="local", generator="local")
    allow_all(account, calls=1)

    with stubbed, account:
        results = run_checks(settings, account.clients)
    endpoint = next(r for r in results if r.name.startswith("sagemaker endpoint"))

    assert endpoint.verdict == "fail"
    assert "Creating" in endpoint.detail
    assert f"aws sagemaker wait endpoint-in-service --endpoint-name {ENDPOINT}" in endpoint.fix


def test_a_missing_endpoint_names_the_setting(account: Account) -> None:
    allow_all(account, calls=1)
    settings = aws_settings(retriever="local", generator="local")

    with account:
        results = run_checks(settings, account.clients)
    endpoint = next(r for r in results if r.name.startswith("sagemaker endpoint"))

    assert endpoint.verdict == "fail"
    assert f"no endpoint {ENDPOINT}" in endpoint.detail
    assert "FMT_SAGEMAKER__ENDPOINT_NAME" in endpoint.fix


def test_a_knowledge_base_that_does_not_exist_names_the_setting(account: Account) -> None:
    account.deploy_endpoint()
    account.agent.add_client_error(
        "get_knowledge_base", "ResourceNotFoundException", "not found", 404
    )
    allow_all(account, calls=2)

    with account:
        results = run_checks(aws_settings(generator="local"), account.clients)
    kb = next(r for r in results if r.name == "knowledge base")

    assert kb.verdict == "fail"
    assert f"no Knowledge Base {KB_ID} in {REGION}" in kb.detail
    assert "FMT_BEDROCK__KNOWLEDGE_BASE_ID" in kb.fix


def test_a_knowledge_base_never_synced_says_how_to_sync(account: Account) -> None:
    account.deploy_endpoint()
    account.agent.add_response("get_knowledge_base", knowledge_base_reply())
    account.agent.add_response(
        "list_data_sources",
        {
            "dataSourceSummaries": [
                {
                    "knowledgeBaseId": KB_ID,
                    "dataSourceId": DATA_SOURCE_ID,
                    "name": "catalog",
                    "status": "AVAILABLE",
                    "updatedAt": NOW,
                }
            ]
        },
    )
    account.agent.add_response("list_ingestion_jobs", {"ingestionJobSummaries": []})
    allow_all(account, calls=2)

    with account:
        results = run_checks(aws_settings(generator="local"), account.clients)
    data = next(r for r in results if r.name == "knowledge base data")

    assert data.verdict == "fail"
    assert "never ingested" in data.detail
    assert "python -m infra.kb_sync" in data.fix


@pytest.mark.parametrize(
    ("model_id", "named"),
    [
        (FOUNDATION, f"FMT_BEDROCK__MODEL_ID={PROFILE}"),  # needs its profile in us-east-1
        ("eu.meta.llama3-2-3b-instruct-v1:0", "FMT_BEDROCK__MODEL_ID"),  # wrong geography
    ],
)
def test_a_model_id_unusable_in_the_region_names_the_setting(
    account: Account, model_id: str, named: str
) -> None:
    settings = aws_settings(
        retriever="local", tuned_generator="local", bedrock={"model_id": model_id}
    )

    with account:
        results = run_checks(settings, account.clients)
    model = next(r for r in results if r.name.startswith("bedrock model"))

    assert model.verdict == "fail"
    assert named in model.detail + model.fix


def test_a_profile_that_does_not_exist_in_the_region_fails(account: Account) -> None:
    account.bedrock.add_client_error(
        "get_inference_profile", "ResourceNotFoundException", "no such profile", 404
    )
    account.bedrock.add_response("get_foundation_model_availability", availability_reply())
    allow_all(account, calls=1)
    settings = aws_settings(retriever="local", tuned_generator="local")

    with account:
        results = run_checks(settings, account.clients)
    profile = next(r for r in results if r.name.startswith("bedrock model"))

    assert profile.verdict == "fail"
    assert f"no inference profile {PROFILE}" in profile.detail
    assert "list-inference-profiles" in profile.fix


def test_model_access_not_granted_says_where_to_ask(account: Account) -> None:
    account.bedrock.add_response("get_inference_profile", profile_reply())
    account.bedrock.add_response(
        "get_foundation_model_availability", availability_reply("NOT_AUTHORIZED")
    )
    allow_all(account, calls=1)
    settings = aws_settings(retriever="local", tuned_generator="local")

    with account:
        results = run_checks(settings, account.clients)
    access = [r for r in results if r.name.startswith("bedrock model")][-1]

    assert access.verdict == "fail"
    assert "authorizationStatus is NOT_AUTHORIZED" in access.detail
    assert "Model access" in access.fix


def test_a_denied_call_is_reported_with_action_and_resource(account: Account) -> None:
    account.deploy_endpoint()
    endpoint_arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{ENDPOINT}"
    account.iam.add_response(
        "simulate_principal_policy",
        {
            "EvaluationResults": [
                simulation_result("sagemaker:InvokeEndpoint", endpoint_arn, "allowed"),
                simulation_result(
                    "sagemaker:InvokeEndpointWithResponseStream", endpoint_arn, "implicitDeny"
                ),
            ]
        },
    )
    settings = aws_settings(retriever="local", generator="local")

    with account:
        results = run_checks(settings, account.clients)
    permission = results[-1]

    assert permission.verdict == "fail"
    assert f"InvokeEndpointWithResponseStream on {endpoint_arn}" in permission.detail
    assert "docs/aws-backends.md" in permission.fix


def test_a_caller_that_may_not_simulate_is_told_what_to_allow(account: Account) -> None:
    account.deploy_endpoint()
    account.iam.add_client_error("simulate_principal_policy", "AccessDenied", "not authorized", 403)
    settings = aws_settings(retriever="local", generator="local")

    with account:
        results = run_checks(settings, account.clients)

    assert results[-1].verdict == "fail"
    assert "iam:SimulatePrincipalPolicy" in results[-1].fix


def test_an_assumed_role_is_simulated_as_its_role_with_its_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_fake_aws_credentials(monkeypatch)
    with mock_aws():
        iam = boto3.client("iam", region_name=REGION)
        role = iam.create_role(
            RoleName="fm-tailor-service",
            Path="/services/",
            AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
        )["Role"]
        sts = boto3.client("sts", region_name=REGION)
        assumed = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="doctor")["AssumedRoleUser"]
        clients = AwsClients(sts, iam, None, None, None, REGION, REGION)

        principal = principal_arn(Identity(ACCOUNT, assumed["Arn"]), clients)

    assert principal == f"arn:aws:iam::{ACCOUNT}:role/services/fm-tailor-service"


def test_no_credentials_fails_first_and_skips_the_rest(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fake_aws_credentials(monkeypatch)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    session = boto3.session.Session(region_name=REGION)
    clients = AwsClients(session.client("sts"), None, None, None, None, REGION, REGION)

    results = run_checks(aws_settings(), clients)

    assert [r.verdict for r in results] == ["fail", "skip"]
    assert "aws sso login" in results[0].fix


def test_the_command_exits_non_zero_on_a_failure_and_prints_one_line_per_check(
    monkeypatch: pytest.MonkeyPatch, account: Account
) -> None:
    for name, value in {
        "FMT_RETRIEVER": "local",
        "FMT_GENERATOR": "local",
        "FMT_TUNED_GENERATOR": "sagemaker",
        "FMT_SAGEMAKER__ENDPOINT_NAME": "no-such-endpoint",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(doctor_main, "aws_clients", lambda _settings: account.clients)
    allow_all(account, calls=1)
    from app.settings import get_settings

    get_settings.cache_clear()
    out = io.StringIO()
    with account:
        code = main([], out)
    get_settings.cache_clear()
    text = out.getvalue()

    assert code == 1
    assert "[ok]   credentials" in text
    assert "[FAIL] sagemaker endpoint no-such-endpoint: no endpoint" in text
    assert "fix: set FMT_SAGEMAKER__ENDPOINT_NAME" in text
    assert "2 passed, 1 failed, 2 skipped" in text
    assert "Traceback" not in text


def test_clients_are_built_in_the_services_regions(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fake_aws_credentials(monkeypatch)
    settings = Settings(_env_file=None, sagemaker={"region": "us-west-2"})

    clients = doctor_main.aws_clients(settings)

    assert clients.bedrock.meta.region_name == REGION
    assert clients.sagemaker.meta.region_name == "us-west-2"
    assert (clients.bedrock_region, clients.sagemaker_region) == (REGION, "us-west-2")


def test_settings_the_service_would_refuse_are_reported_not_raised(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_fake_aws_credentials(monkeypatch)
    monkeypatch.setenv("FMT_SAGEMAKER__TOP_P", "1.0")  # TGI refuses it
    from app.settings import get_settings

    get_settings.cache_clear()
    out = io.StringIO()
    code = main([], out)
    get_settings.cache_clear()

    assert code == 1
    assert out.getvalue().startswith("[FAIL] settings:")
    assert "sagemaker.top_p" in out.getvalue()


def test_the_endpoint_arn_names_the_endpoints_region_not_bedrocks() -> None:
    from app.generators.bedrock_models import resolve_model_id
    from infra.doctor.calls import service_calls

    settings = aws_settings(sagemaker={"endpoint_name": ENDPOINT, "region": "eu-west-1"})
    routes = {"FMT_BEDROCK__MODEL_ID": resolve_model_id(None, "us-east-1")}

    calls = service_calls(settings, routes, "us-east-1", ACCOUNT, "eu-west-1")

    (endpoint,) = [call for call in calls if call.setting == "FMT_SAGEMAKER__ENDPOINT_NAME"]
    assert endpoint.resources == (f"arn:aws:sagemaker:eu-west-1:{ACCOUNT}:endpoint/{ENDPOINT}",)
    (retrieve,) = [call for call in calls if call.actions == ("bedrock:Retrieve",)]
    assert retrieve.resources[0].startswith("arn:aws:bedrock:us-east-1:")
