"""The default stack (S3 Vectors): what it creates, who may do what, and that nothing is public."""

from __future__ import annotations

import contextlib
import io
import json
import os
from typing import Any

import pytest

pytest.importorskip("aws_cdk", reason="the infra extra (aws-cdk-lib) is not installed")

from aws_cdk.assertions import Template

from infra.cdk import app as cdk_app
from infra.cdk.s3_vectors_store import KNOWLEDGE_BASE_INDEX_ACTIONS

TITAN_V2_ARN = (
    "arn:${AWS::Partition}:bedrock:${AWS::Region}::foundation-model/amazon.titan-embed-text-v2:0"
)


def render(value: Any) -> Any:
    """A template value with intrinsics written out: GetAtt as `Id.Attr`, Ref as `${Name}`."""
    if isinstance(value, dict) and len(value) == 1:
        ((key, argument),) = value.items()
        if key == "Fn::GetAtt":
            return ".".join(argument)
        if key == "Ref":
            return f"${{{argument}}}"
        if key == "Fn::Join":
            separator, parts = argument
            return separator.join(str(render(part)) for part in parts)
    if isinstance(value, dict):
        return {key: render(item) for key, item in value.items()}
    if isinstance(value, list):
        return [render(item) for item in value]
    return value


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def only(template: dict[str, Any], resource_type: str) -> tuple[str, dict[str, Any]]:
    found = [
        (name, resource)
        for name, resource in template["Resources"].items()
        if resource["Type"] == resource_type
    ]
    assert len(found) == 1, f"expected one {resource_type}, found {len(found)}"
    return found[0]


def knowledge_base_role(template: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The role Bedrock assumes (the other one is the bucket emptier's, Lambda's)."""
    (found,) = [
        (name, resource)
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::IAM::Role"
        and "bedrock.amazonaws.com"
        in json.dumps(resource["Properties"]["AssumeRolePolicyDocument"])
    ]
    return found


def knowledge_base_policy(template: dict[str, Any]) -> str:
    role_id, _ = knowledge_base_role(template)
    (policy_id,) = [
        name
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::IAM::Policy"
        and {"Ref": role_id} in resource["Properties"]["Roles"]
    ]
    return policy_id


def role_permissions(template: dict[str, Any]) -> set[tuple[str, str]]:
    """Every (action, resource) the Knowledge Base role is allowed, from every policy it has."""
    role_id, role = knowledge_base_role(template)
    assert "ManagedPolicyArns" not in role["Properties"]
    assert "Policies" not in role["Properties"]
    allowed: set[tuple[str, str]] = set()
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::IAM::Policy":
            continue
        if resource["Properties"]["Roles"] != [{"Ref": role_id}]:
            continue
        for statement in render(resource["Properties"]["PolicyDocument"])["Statement"]:
            assert statement["Effect"] == "Allow"
            assert "NotAction" not in statement and "NotResource" not in statement
            for action in as_list(statement["Action"]):
                allowed.update((action, target) for target in as_list(statement["Resource"]))
    return allowed


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """`python -m infra.cdk.app` once for the module: starting the CDK's node runtime is slow."""
    outdir = tmp_path_factory.mktemp("cdk.out")
    printed = io.StringIO()
    with pytest.MonkeyPatch.context() as environment:
        for name in list(os.environ):
            if name.startswith("FMT_INFRA_"):
                environment.delenv(name)
        environment.setenv("FMT_INFRA_STACK_NAME", "KnowledgeBase")
        environment.setenv("FMT_INFRA_REGION", "us-east-1")
        with contextlib.redirect_stdout(printed):
            assert cdk_app.main(["--outdir", str(outdir)]) == 0
    template = json.loads((outdir / "KnowledgeBase.template.json").read_text())
    return {"template": template, "printed": printed.getvalue()}


@pytest.fixture(scope="module")
def default(synthesized: dict[str, Any]) -> dict[str, Any]:
    template: dict[str, Any] = synthesized["template"]
    return template


def test_synth_prints_the_stack_and_what_it_holds(synthesized: dict[str, Any]) -> None:
    text = synthesized["printed"]
    assert "stack KnowledgeBase (vector store: s3-vectors)" in text
    for resource_type in (
        "AWS::Bedrock::KnowledgeBase",
        "AWS::Bedrock::DataSource",
        "AWS::S3Vectors::Index",
        "AWS::S3::Bucket",
    ):
        assert f"1 x {resource_type}" in text
    assert "output KnowledgeBaseId" in text


def test_default_stack_holds_bucket_s3_vectors_knowledge_base_and_data_source(
    default: dict[str, Any],
) -> None:
    template = Template.from_json(default)
    for resource_type in (
        "AWS::S3::Bucket",
        "AWS::S3Vectors::VectorBucket",
        "AWS::S3Vectors::Index",
        "AWS::Bedrock::KnowledgeBase",
        "AWS::Bedrock::DataSource",
        "Custom::EmptyBucketOnDelete",
    ):
        template.resource_count_is(resource_type, 1)
    # Bedrock's role, and the role of the function that empties the bucket on delete.
    template.resource_count_is("AWS::IAM::Role", 2)
    assert not [r for r in default["Resources"].values() if "OpenSearch" in r["Type"]]
    # No bootstrap parameter or rule: the template deploys with plain CloudFormation.
    assert "Parameters" not in default and "Rules" not in default


def test_catalog_bucket_is_encrypted_private_and_tls_only(default: dict[str, Any]) -> None:
    template = Template.from_json(default)
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                ]
            },
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
        },
    )
    _, policy = only(default, "AWS::S3::BucketPolicy")
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert [s for s in statements if s["Effect"] == "Allow"] == []
    assert {
        "Effect": "Deny",
        "Action": "s3:*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }.items() <= next(s for s in statements if s["Effect"] == "Deny").items()


def test_knowledge_base_role_may_only_embed_read_the_catalog_and_use_its_index(
    default: dict[str, Any],
) -> None:
    bucket_id, _ = only(default, "AWS::S3::Bucket")
    index_id, _ = only(default, "AWS::S3Vectors::Index")
    allowed = role_permissions(default)
    assert allowed == {
        ("bedrock:InvokeModel", TITAN_V2_ARN),
        ("s3:ListBucket", f"{bucket_id}.Arn"),
        ("s3:GetObject", f"{bucket_id}.Arn/catalog/*"),
        *((action, f"{index_id}.IndexArn") for action in KNOWLEDGE_BASE_INDEX_ACTIONS),
    }
    assert not [action for action, _ in allowed if "*" in action]
    assert not [target for _, target in allowed if target == "*" or target.endswith(":*")]


def test_only_bedrock_of_this_account_may_assume_the_role(default: dict[str, Any]) -> None:
    _, role = knowledge_base_role(default)
    (statement,) = render(role["Properties"]["AssumeRolePolicyDocument"])["Statement"]
    assert statement["Principal"] == {"Service": "bedrock.amazonaws.com"}
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": "${AWS::AccountId}"}
    assert statement["Condition"]["ArnLike"]["aws:SourceArn"].endswith(
        ":${AWS::AccountId}:knowledge-base/*"
    )


def test_knowledge_base_uses_the_index_and_waits_for_it_and_its_permissions(
    default: dict[str, Any],
) -> None:
    index_id, index = only(default, "AWS::S3Vectors::Index")
    policy_id = knowledge_base_policy(default)
    _, knowledge_base = only(default, "AWS::Bedrock::KnowledgeBase")
    properties = render(knowledge_base["Properties"])
    assert properties["StorageConfiguration"] == {
        "Type": "S3_VECTORS",
        "S3VectorsConfiguration": {"IndexArn": f"{index_id}.IndexArn"},
    }
    vector = properties["KnowledgeBaseConfiguration"]["VectorKnowledgeBaseConfiguration"]
    assert vector["EmbeddingModelArn"] == TITAN_V2_ARN
    assert index["Properties"]["Dimension"] == 1024
    assert set(knowledge_base["DependsOn"]) >= {index_id, policy_id}


def test_data_source_reads_the_catalog_prefix_in_fixed_size_chunks(
    default: dict[str, Any],
) -> None:
    _, source = only(default, "AWS::Bedrock::DataSource")
    properties = source["Properties"]
    assert properties["DataSourceConfiguration"]["S3Configuration"]["InclusionPrefixes"] == [
        "catalog/"
    ]
    assert properties["VectorIngestionConfiguration"]["ChunkingConfiguration"] == {
        "ChunkingStrategy": "FIXED_SIZE",
        "FixedSizeChunkingConfiguration": {"MaxTokens": 200, "OverlapPercentage": 20},
    }


def test_outputs_give_the_ids_the_service_and_sync_command_need(default: dict[str, Any]) -> None:
    knowledge_base_id, _ = only(default, "AWS::Bedrock::KnowledgeBase")
    data_source_id, _ = only(default, "AWS::Bedrock::DataSource")
    bucket_id, _ = only(default, "AWS::S3::Bucket")
    outputs = {name: render(output["Value"]) for name, output in default["Outputs"].items()}
    assert outputs["KnowledgeBaseId"] == f"{knowledge_base_id}.KnowledgeBaseId"
    assert outputs["DataSourceId"] == f"{data_source_id}.DataSourceId"
    assert outputs["CatalogBucketName"] == f"${{{bucket_id}}}"
    assert outputs["CatalogPrefix"] == "catalog/"


def test_deleting_the_default_stack_deletes_the_data(default: dict[str, Any]) -> None:
    for resource_type in ("AWS::S3::Bucket", "AWS::S3Vectors::VectorBucket"):
        _, resource = only(default, resource_type)
        assert resource["DeletionPolicy"] == "Delete"
    # CloudFormation deletes only an empty bucket: the custom resource (deleted first, as it
    # depends on the bucket) empties it, with inline code, so the template needs no assets.
    bucket_id, _ = only(default, "AWS::S3::Bucket")
    _, emptier = only(default, "Custom::EmptyBucketOnDelete")
    assert emptier["Properties"]["BucketName"] == {"Ref": bucket_id}
    function_id = emptier["Properties"]["ServiceToken"]["Fn::GetAtt"][0]
    code = default["Resources"][function_id]["Properties"]["Code"]
    assert set(code) == {"ZipFile"}


def test_the_inline_handler_empties_the_bucket_on_delete_and_only_then(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys
    import types

    import boto3
    from moto import mock_aws

    from infra.cdk.catalog_bucket import EMPTY_ON_DELETE

    sent: list[str] = []
    # CloudFormation provides `cfnresponse` to ZipFile functions; this one records the status.
    cfnresponse = types.ModuleType("cfnresponse")
    cfnresponse.SUCCESS, cfnresponse.FAILED = "SUCCESS", "FAILED"  # type: ignore[attr-defined]
    cfnresponse.send = lambda event, context, status, data: sent.append(status)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "cfnresponse", cfnresponse)
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    module = types.ModuleType("index")
    exec(compile(EMPTY_ON_DELETE, "index.py", "exec"), module.__dict__)
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="catalog")
        for key in ("catalog/a.txt", "catalog/a.txt.metadata.json", "fine-tune/model.tar.gz"):
            s3.put_object(Bucket="catalog", Key=key, Body=b"x")
        properties = {"BucketName": "catalog"}
        module.handler({"RequestType": "Update", "ResourceProperties": properties}, None)
        assert s3.list_objects_v2(Bucket="catalog")["KeyCount"] == 3
        module.handler({"RequestType": "Delete", "ResourceProperties": properties}, None)
        assert s3.list_objects_v2(Bucket="catalog")["KeyCount"] == 0
        s3.delete_bucket(Bucket="catalog")  # what CloudFormation does next
    assert sent == ["SUCCESS", "SUCCESS"]
