"""What a vector store gives the Knowledge Base, and the table that builds the chosen one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aws_cdk import CfnResource
from aws_cdk import aws_bedrock as bedrock
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.cdk.settings import InfraSettings, VectorStoreName


@dataclass(frozen=True)
class VectorStore:
    """A vector store ready for a Knowledge Base: its storage configuration, what the Knowledge
    Base role may do on it, and the resources that must exist before the Knowledge Base."""

    kind: VectorStoreName
    storage_configuration: bedrock.CfnKnowledgeBase.StorageConfigurationProperty
    role_statements: list[iam.PolicyStatement]
    ready_before_knowledge_base: list[CfnResource]


VectorStoreBuilder = Callable[[Construct, InfraSettings, iam.IRole], VectorStore]


def build_vector_store(scope: Construct, settings: InfraSettings, role: iam.IRole) -> VectorStore:
    """The vector store named by `FMT_INFRA_VECTOR_STORE`."""
    from infra.cdk.opensearch_store import create_opensearch_store
    from infra.cdk.s3_vectors_store import create_s3_vectors_store

    builders: dict[VectorStoreName, VectorStoreBuilder] = {
        "s3-vectors": create_s3_vectors_store,
        "opensearch-serverless": create_opensearch_store,
    }
    return builders[settings.vector_store](scope, settings, role)
