"""An Amazon S3 vector bucket and index as the Knowledge Base's vector store."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_bedrock as bedrock
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3vectors as s3vectors
from constructs import Construct

from infra.cdk.settings import InfraSettings
from infra.cdk.vector_store import VectorStore

# Bedrock writes the chunk text and its metadata beside each vector; S3 Vectors allows 2 KB of
# filterable metadata per vector (40 KB in all), so these keys are stored but not filterable:
# Bedrock's two, and the sidecars' list of section titles (infra.kb_sync), which a product with
# many sections takes past 2 KB. `product` and `source` stay filterable.
FILTERABLE_METADATA_LIMIT = 2048
BEDROCK_NON_FILTERABLE_KEYS = ["AMAZON_BEDROCK_TEXT", "AMAZON_BEDROCK_METADATA"]
NON_FILTERABLE_KEYS = [*BEDROCK_NON_FILTERABLE_KEYS, "sections"]

# What Bedrock does on the index during ingestion and retrieval, and nothing else.
KNOWLEDGE_BASE_INDEX_ACTIONS = [
    "s3vectors:GetIndex",
    "s3vectors:PutVectors",
    "s3vectors:GetVectors",
    "s3vectors:DeleteVectors",
    "s3vectors:ListVectors",
    "s3vectors:QueryVectors",
]


def create_s3_vectors_store(
    scope: Construct, settings: InfraSettings, role: iam.IRole
) -> VectorStore:
    """A vector bucket (SSE-S3) and one float32 index sized for the embedding model."""
    removal = RemovalPolicy.RETAIN if settings.retain_data else RemovalPolicy.DESTROY
    vector_bucket = s3vectors.CfnVectorBucket(
        scope,
        "VectorBucket",
        encryption_configuration=s3vectors.CfnVectorBucket.EncryptionConfigurationProperty(
            sse_type="AES256"
        ),
    )
    vector_bucket.apply_removal_policy(removal)
    index = s3vectors.CfnIndex(
        scope,
        "VectorIndex",
        vector_bucket_arn=vector_bucket.attr_vector_bucket_arn,
        index_name=settings.s3_vectors.index_name,
        data_type="float32",
        dimension=settings.embedding_dimensions,
        distance_metric=settings.s3_vectors.distance_metric,
        metadata_configuration=s3vectors.CfnIndex.MetadataConfigurationProperty(
            non_filterable_metadata_keys=NON_FILTERABLE_KEYS
        ),
    )
    index.apply_removal_policy(removal)
    storage = bedrock.CfnKnowledgeBase.StorageConfigurationProperty(
        type="S3_VECTORS",
        s3_vectors_configuration=bedrock.CfnKnowledgeBase.S3VectorsConfigurationProperty(
            index_arn=index.attr_index_arn
        ),
    )
    statement = iam.PolicyStatement(
        sid="VectorIndexReadWrite",
        actions=KNOWLEDGE_BASE_INDEX_ACTIONS,
        resources=[index.attr_index_arn],
    )
    return VectorStore("s3-vectors", storage, [statement], [index])
