"""An OpenSearch Serverless vector collection, its three policies and the vector index."""

from __future__ import annotations

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_bedrock as bedrock
from aws_cdk import aws_iam as iam
from aws_cdk import aws_opensearchserverless as aoss
from constructs import Construct

from infra.cdk.settings import InfraSettings, OpenSearchSettings
from infra.cdk.vector_store import VectorStore

BEDROCK_SERVICE = "bedrock.amazonaws.com"
KNOWLEDGE_BASE_INDEX_PERMISSIONS = ["aoss:DescribeIndex", "aoss:ReadDocument", "aoss:WriteDocument"]
DEPLOYER_INDEX_PERMISSIONS = [
    "aoss:CreateIndex",
    "aoss:DescribeIndex",
    "aoss:UpdateIndex",
    "aoss:DeleteIndex",
]
COLLECTION_PERMISSIONS = ["aoss:DescribeCollectionItems"]


def policy_name(collection_name: str, suffix: str) -> str:
    """A security or access policy name: at most 32 characters, like the collection's."""
    return f"{collection_name[: 31 - len(suffix)]}-{suffix}"


def _collection_rules(names: OpenSearchSettings, index_permissions: list[str]) -> list[object]:
    return [
        {
            "ResourceType": "collection",
            "Resource": [f"collection/{names.collection_name}"],
            "Permission": COLLECTION_PERMISSIONS,
        },
        {
            "ResourceType": "index",
            "Resource": [f"index/{names.collection_name}/{names.index_name}"],
            "Permission": index_permissions,
        },
    ]


def _security_policies(scope: Construct, names: OpenSearchSettings) -> list[aoss.CfnSecurityPolicy]:
    collection_rule = {
        "ResourceType": "collection",
        "Resource": [f"collection/{names.collection_name}"],
    }
    encryption = aoss.CfnSecurityPolicy(
        scope,
        "EncryptionPolicy",
        name=policy_name(names.collection_name, "enc"),
        type="encryption",
        policy=Stack.of(scope).to_json_string({"Rules": [collection_rule], "AWSOwnedKey": True}),
    )
    # Only the API endpoint is named: the Dashboards endpoint stays unreachable.
    network_rule: dict[str, object] = {"Rules": [collection_rule]}
    if names.public_endpoint:
        network_rule["AllowFromPublic"] = True
    else:
        network_rule.update(AllowFromPublic=False, SourceServices=[BEDROCK_SERVICE])
    network = aoss.CfnSecurityPolicy(
        scope,
        "NetworkPolicy",
        name=policy_name(names.collection_name, "net"),
        type="network",
        policy=Stack.of(scope).to_json_string([network_rule]),
    )
    return [encryption, network]


def _access_policy(
    scope: Construct, names: OpenSearchSettings, role: iam.IRole
) -> aoss.CfnAccessPolicy:
    statements = [
        {
            "Description": "The Knowledge Base reads and writes the vector index",
            "Rules": _collection_rules(names, KNOWLEDGE_BASE_INDEX_PERMISSIONS),
            "Principal": [role.role_arn],
        },
        {
            "Description": "CloudFormation creates the vector index as the deployer",
            "Rules": _collection_rules(names, DEPLOYER_INDEX_PERMISSIONS),
            "Principal": names.deployer_principal_arns,
        },
    ]
    return aoss.CfnAccessPolicy(
        scope,
        "DataAccessPolicy",
        name=policy_name(names.collection_name, "data"),
        type="data",
        policy=Stack.of(scope).to_json_string(statements),
    )


def _vector_index(
    scope: Construct, settings: InfraSettings, collection: aoss.CfnCollection
) -> aoss.CfnIndex:
    names = settings.opensearch
    mapping = aoss.CfnIndex.PropertyMappingProperty
    index = aoss.CfnIndex(
        scope,
        "VectorIndex",
        collection_endpoint=collection.attr_collection_endpoint,
        index_name=names.index_name,
        settings=aoss.CfnIndex.IndexSettingsProperty(
            index=aoss.CfnIndex.IndexProperty(knn=True, knn_algo_param_ef_search=512)
        ),
        mappings=aoss.CfnIndex.MappingsProperty(
            properties={
                names.vector_field: mapping(
                    type="knn_vector",
                    dimension=settings.embedding_dimensions,
                    method=aoss.CfnIndex.MethodProperty(
                        name="hnsw",
                        engine="faiss",
                        space_type="l2",
                        parameters=aoss.CfnIndex.ParametersProperty(ef_construction=512, m=16),
                    ),
                ),
                names.text_field: mapping(type="text", index=True),
                names.metadata_field: mapping(type="text", index=False),
            }
        ),
    )
    # Deleting the collection deletes its indexes; CloudFormation deleting the index itself
    # would fail once the endpoint is left to Bedrock alone (public_endpoint=false).
    index.apply_removal_policy(RemovalPolicy.RETAIN)
    return index


def create_opensearch_store(
    scope: Construct, settings: InfraSettings, role: iam.IRole
) -> VectorStore:
    """A VECTORSEARCH collection with AWS-owned-key encryption, a network policy, a data access
    policy naming only the Knowledge Base role and the deployers, and a FAISS HNSW index."""
    names = settings.opensearch
    policies = _security_policies(scope, names)
    collection = aoss.CfnCollection(
        scope,
        "Collection",
        name=names.collection_name,
        type="VECTORSEARCH",
        standby_replicas="ENABLED" if names.standby_replicas else "DISABLED",
        description="Vector store of the fm-tailor Knowledge Base",
    )
    collection.apply_removal_policy(
        RemovalPolicy.RETAIN if settings.retain_data else RemovalPolicy.DESTROY
    )
    for policy in policies:
        collection.add_resource_dependency(policy)
    access_policy = _access_policy(scope, names, role)
    index = _vector_index(scope, settings, collection)
    index.add_resource_dependency(access_policy)
    storage = bedrock.CfnKnowledgeBase.StorageConfigurationProperty(
        type="OPENSEARCH_SERVERLESS",
        opensearch_serverless_configuration=bedrock.CfnKnowledgeBase.OpenSearchServerlessConfigurationProperty(
            collection_arn=collection.attr_arn,
            vector_index_name=names.index_name,
            field_mapping=bedrock.CfnKnowledgeBase.OpenSearchServerlessFieldMappingProperty(
                vector_field=names.vector_field,
                text_field=names.text_field,
                metadata_field=names.metadata_field,
            ),
        ),
    )
    statement = iam.PolicyStatement(
        sid="VectorCollectionApiAccess",
        actions=["aoss:APIAccessAll"],
        resources=[collection.attr_arn],
    )
    return VectorStore("opensearch-serverless", storage, [statement], [index, access_policy])
