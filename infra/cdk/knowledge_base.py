"""The Bedrock Knowledge Base, its service role and the S3 data source holding the catalog."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Aws
from aws_cdk import aws_bedrock as bedrock
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from app.generators.bedrock_models import split_profile_id
from infra.cdk.chunking import chunking_configuration
from infra.cdk.model_access import (
    foundation_model_arn,
    inference_profile_arn,
    invoke_model_statements,
)
from infra.cdk.settings import InfraSettings
from infra.cdk.vector_store import build_vector_store


@dataclass(frozen=True)
class KnowledgeBase:
    """What the stack outputs and the tests look at."""

    knowledge_base: bedrock.CfnKnowledgeBase
    data_source: bedrock.CfnDataSource
    role: iam.Role


def embedding_model_arn(model_id: str) -> str:
    """The embedding model's ARN in the stack's partition and region: its inference profile's
    for a profile id (`us.`...), else the foundation model's (which has no account in it)."""
    if split_profile_id(model_id)[0] is not None:
        return inference_profile_arn(model_id)
    return foundation_model_arn(model_id)


def _service_role(scope: Construct) -> iam.Role:
    # Only Bedrock, acting for a knowledge base of this account and region, may assume it.
    principal = iam.ServicePrincipal("bedrock.amazonaws.com").with_conditions(
        {
            "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
            "ArnLike": {
                "aws:SourceArn": f"arn:{Aws.PARTITION}:bedrock:{Aws.REGION}:{Aws.ACCOUNT_ID}"
                ":knowledge-base/*"
            },
        }
    )
    return iam.Role(
        scope,
        "KnowledgeBaseRole",
        assumed_by=principal,
        description="fm-tailor Knowledge Base: reads the catalog, embeds it, stores the vectors",
    )


def _grant_catalog_and_model(role: iam.Role, bucket: s3.IBucket, settings: InfraSettings) -> None:
    for statement in invoke_model_statements(settings.embedding_model_id, "EmbedWithOneModel"):
        role.add_to_policy(statement)
    role.add_to_policy(
        iam.PolicyStatement(
            sid="ListCatalogBucket", actions=["s3:ListBucket"], resources=[bucket.bucket_arn]
        )
    )
    role.add_to_policy(
        iam.PolicyStatement(
            sid="ReadCatalogObjects",
            actions=["s3:GetObject"],
            resources=[bucket.arn_for_objects(f"{settings.catalog_prefix}*")],
        )
    )


def create_knowledge_base(
    scope: Construct, settings: InfraSettings, bucket: s3.IBucket
) -> KnowledgeBase:
    """A vector Knowledge Base over the configured store, and its catalog data source."""
    role = _service_role(scope)
    store = build_vector_store(scope, settings, role)
    _grant_catalog_and_model(role, bucket, settings)
    for statement in store.role_statements:
        role.add_to_policy(statement)
    knowledge_base = bedrock.CfnKnowledgeBase(
        scope,
        "KnowledgeBase",
        name=settings.knowledge_base_name,
        description="Product catalog of fm-tailor",
        role_arn=role.role_arn,
        knowledge_base_configuration=bedrock.CfnKnowledgeBase.KnowledgeBaseConfigurationProperty(
            type="VECTOR",
            vector_knowledge_base_configuration=bedrock.CfnKnowledgeBase.VectorKnowledgeBaseConfigurationProperty(
                embedding_model_arn=embedding_model_arn(settings.embedding_model_id),
                embedding_model_configuration=bedrock.CfnKnowledgeBase.EmbeddingModelConfigurationProperty(
                    bedrock_embedding_model_configuration=bedrock.CfnKnowledgeBase.BedrockEmbeddingModelConfigurationProperty(
                        dimensions=settings.embedding_dimensions, embedding_data_type="FLOAT32"
                    )
                ),
            ),
        ),
        storage_configuration=store.storage_configuration,
    )
    # Bedrock checks the store and uses the role while it creates the Knowledge Base.
    for resource in store.ready_before_knowledge_base:
        knowledge_base.add_resource_dependency(resource)
    policy = role.node.try_find_child("DefaultPolicy")
    if policy is not None:
        knowledge_base.node.add_dependency(policy)
    data_source = _data_source(scope, settings, bucket, knowledge_base)
    return KnowledgeBase(knowledge_base, data_source, role)


def _data_source(
    scope: Construct,
    settings: InfraSettings,
    bucket: s3.IBucket,
    knowledge_base: bedrock.CfnKnowledgeBase,
) -> bedrock.CfnDataSource:
    return bedrock.CfnDataSource(
        scope,
        "CatalogDataSource",
        name="catalog",
        description="Catalog documents uploaded by `python -m infra.kb_sync`",
        knowledge_base_id=knowledge_base.attr_knowledge_base_id,
        # RETAIN: deleting the stack deletes the whole vector store anyway, and a DELETE policy
        # would make the data source's deletion depend on reaching the store.
        data_deletion_policy="RETAIN",
        data_source_configuration=bedrock.CfnDataSource.DataSourceConfigurationProperty(
            type="S3",
            s3_configuration=bedrock.CfnDataSource.S3DataSourceConfigurationProperty(
                bucket_arn=bucket.bucket_arn, inclusion_prefixes=[settings.catalog_prefix]
            ),
        ),
        vector_ingestion_configuration=bedrock.CfnDataSource.VectorIngestionConfigurationProperty(
            chunking_configuration=chunking_configuration(settings.chunking)
        ),
    )
