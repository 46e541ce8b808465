"""The OpenSearch Serverless variant: its three policies, its index, and who may reach it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("aws_cdk", reason="the infra extra (aws-cdk-lib) is not installed")

from aws_cdk.assertions import Match, Template

from infra.cdk import app as cdk_app
from infra.cdk.opensearch_store import DEPLOYER_INDEX_PERMISSIONS
from infra.cdk.settings import InfraSettings
from tests.infra.test_cdk_stack import knowledge_base_role, only, render, role_permissions

DEPLOYER = "arn:aws:iam::123456789012:role/Deployer"


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Both variants once for the module: a public endpoint, and one left to Bedrock alone."""
    outdir = tmp_path_factory.mktemp("cdk.out")
    variants = {
        "opensearch": InfraSettings(
            _env_file=None,  # type: ignore[call-arg]
            region="us-east-1",
            stack_name="OpenSearch",
            vector_store="opensearch-serverless",
            opensearch={"deployer_principal_arns": [DEPLOYER]},
            chunking={"strategy": "HIERARCHICAL"},
        ),
        "private": InfraSettings(
            _env_file=None,  # type: ignore[call-arg]
            region="us-east-1",
            stack_name="Private",
            vector_store="opensearch-serverless",
            retain_data=True,
            opensearch={"deployer_principal_arns": [DEPLOYER], "public_endpoint": False},
            chunking={"strategy": "SEMANTIC", "max_tokens": 300},
        ),
    }
    templates = {}
    for name, settings in variants.items():
        template_file, _service = cdk_app.synthesize(settings, outdir / name)
        templates[name] = json.loads(Path(template_file).read_text())
    return templates


def test_chunking_strategy_comes_from_settings(synthesized: dict[str, dict[str, Any]]) -> None:
    chunking = {}
    for name, template in synthesized.items():
        _, source = only(template, "AWS::Bedrock::DataSource")
        chunking[name] = source["Properties"]["VectorIngestionConfiguration"][
            "ChunkingConfiguration"
        ]
    assert chunking["opensearch"]["HierarchicalChunkingConfiguration"] == {
        "LevelConfigurations": [{"MaxTokens": 1500}, {"MaxTokens": 300}],
        "OverlapTokens": 60,
    }
    assert chunking["private"]["SemanticChunkingConfiguration"]["MaxTokens"] == 300


def test_retain_data_keeps_bucket_and_collection(synthesized: dict[str, dict[str, Any]]) -> None:
    for resource_type in ("AWS::S3::Bucket", "AWS::OpenSearchServerless::Collection"):
        _, resource = only(synthesized["private"], resource_type)
        assert resource["DeletionPolicy"] == "Retain"


def _policy(template: dict[str, Any], resource_type: str, policy_type: str) -> Any:
    (resource,) = [
        r
        for r in template["Resources"].values()
        if r["Type"] == resource_type and r["Properties"]["Type"] == policy_type
    ]
    return json.loads(render(resource["Properties"]["Policy"]))


def test_opensearch_data_access_names_only_the_role_and_the_deployer(
    synthesized: dict[str, dict[str, Any]],
) -> None:
    template = synthesized["opensearch"]
    role_id, _ = knowledge_base_role(template)
    statements = _policy(template, "AWS::OpenSearchServerless::AccessPolicy", "data")
    by_principal = {tuple(statement["Principal"]): statement["Rules"] for statement in statements}
    assert set(by_principal) == {(f"{role_id}.Arn",), (DEPLOYER,)}
    permissions = {
        permission
        for rules in by_principal.values()
        for rule in rules
        for permission in rule["Permission"]
    }
    assert not [permission for permission in permissions if permission.endswith("*")]
    resources = {
        resource
        for rules in by_principal.values()
        for rule in rules
        for resource in rule["Resource"]
    }
    assert resources == {
        "collection/fm-tailor-catalog",
        "index/fm-tailor-catalog/fm-tailor-catalog",
    }
    role_index_rule = next(
        r for r in by_principal[(f"{role_id}.Arn",)] if r["ResourceType"] == "index"
    )
    assert "aoss:CreateIndex" not in role_index_rule["Permission"]
    deployer_index_rule = next(r for r in by_principal[(DEPLOYER,)] if r["ResourceType"] == "index")
    assert deployer_index_rule["Permission"] == DEPLOYER_INDEX_PERMISSIONS


def test_opensearch_role_reaches_only_its_collection(
    synthesized: dict[str, dict[str, Any]],
) -> None:
    template = synthesized["opensearch"]
    collection_id, _ = only(template, "AWS::OpenSearchServerless::Collection")
    vector_permissions = {
        (action, target)
        for action, target in role_permissions(template)
        if action.startswith("aoss:")
    }
    assert vector_permissions == {("aoss:APIAccessAll", f"{collection_id}.Arn")}


def test_opensearch_collection_is_encrypted_and_dashboards_are_never_exposed(
    synthesized: dict[str, dict[str, Any]],
) -> None:
    template = synthesized["opensearch"]
    encryption = _policy(template, "AWS::OpenSearchServerless::SecurityPolicy", "encryption")
    assert encryption["AWSOwnedKey"] is True
    (network,) = _policy(template, "AWS::OpenSearchServerless::SecurityPolicy", "network")
    assert {rule["ResourceType"] for rule in network["Rules"]} == {"collection"}
    _, collection = only(template, "AWS::OpenSearchServerless::Collection")
    assert collection["Properties"]["Type"] == "VECTORSEARCH"
    assert len(collection["DependsOn"]) == 2


def test_private_endpoint_is_reachable_only_by_bedrock(
    synthesized: dict[str, dict[str, Any]],
) -> None:
    (network,) = _policy(
        synthesized["private"], "AWS::OpenSearchServerless::SecurityPolicy", "network"
    )
    assert network["AllowFromPublic"] is False
    assert network["SourceServices"] == ["bedrock.amazonaws.com"]


def test_opensearch_index_matches_the_knowledge_base_field_mapping(
    synthesized: dict[str, dict[str, Any]],
) -> None:
    template = Template.from_json(synthesized["opensearch"])
    template.has_resource(
        "AWS::OpenSearchServerless::Index",
        {
            "Properties": {
                "IndexName": "fm-tailor-catalog",
                "Mappings": {
                    "Properties": {
                        "bedrock-knowledge-base-default-vector": Match.object_like(
                            {"Type": "knn_vector", "Dimension": 1024}
                        ),
                        "AMAZON_BEDROCK_TEXT_CHUNK": {"Type": "text", "Index": True},
                        "AMAZON_BEDROCK_METADATA": {"Type": "text", "Index": False},
                    }
                },
            },
            "DependsOn": Match.array_with(["DataAccessPolicy"]),
        },
    )
    template.has_resource_properties(
        "AWS::Bedrock::KnowledgeBase",
        {
            "StorageConfiguration": {
                "Type": "OPENSEARCH_SERVERLESS",
                "OpensearchServerlessConfiguration": Match.object_like(
                    {
                        "VectorIndexName": "fm-tailor-catalog",
                        "FieldMapping": {
                            "VectorField": "bedrock-knowledge-base-default-vector",
                            "TextField": "AMAZON_BEDROCK_TEXT_CHUNK",
                            "MetadataField": "AMAZON_BEDROCK_METADATA",
                        },
                    }
                ),
            }
        },
    )
