"""The one stack of the RAG path, with the outputs the service and the sync command need."""

from __future__ import annotations

from aws_cdk import BootstraplessSynthesizer, CfnOutput, Environment, Stack
from constructs import Construct

from infra.cdk.catalog_bucket import create_catalog_bucket
from infra.cdk.knowledge_base import create_knowledge_base
from infra.cdk.outputs import (
    OUTPUT_CATALOG_BUCKET,
    OUTPUT_CATALOG_PREFIX,
    OUTPUT_DATA_SOURCE_ID,
    OUTPUT_KNOWLEDGE_BASE_ID,
    OUTPUT_VECTOR_STORE,
)
from infra.cdk.settings import InfraSettings


class KnowledgeBaseStack(Stack):
    """Catalog bucket, vector store, Bedrock Knowledge Base and its S3 data source."""

    def __init__(self, scope: Construct, settings: InfraSettings) -> None:
        # No assets, so no bootstrap: the template deploys with plain CloudFormation too.
        super().__init__(
            scope,
            settings.stack_name,
            description="fm-tailor: Bedrock Knowledge Base over the product catalog",
            synthesizer=BootstraplessSynthesizer(),
            # The service stack reads this one's outputs: both in one environment.
            env=Environment(region=settings.region) if settings.region else None,
        )
        bucket = create_catalog_bucket(self, settings.retain_data)
        created = create_knowledge_base(self, settings, bucket)
        self.knowledge_base_id: str = created.knowledge_base.attr_knowledge_base_id
        outputs = {
            OUTPUT_KNOWLEDGE_BASE_ID: (
                created.knowledge_base.attr_knowledge_base_id,
                "Set FMT_BEDROCK__KNOWLEDGE_BASE_ID to this",
            ),
            OUTPUT_DATA_SOURCE_ID: (
                created.data_source.attr_data_source_id,
                "Data source that `python -m infra.kb_sync` syncs",
            ),
            OUTPUT_CATALOG_BUCKET: (bucket.bucket_name, "Bucket the catalog is uploaded to"),
            OUTPUT_CATALOG_PREFIX: (settings.catalog_prefix, "Key prefix of the catalog objects"),
            OUTPUT_VECTOR_STORE: (settings.vector_store, "Where the vectors are stored"),
        }
        for name, (value, description) in outputs.items():
            CfnOutput(self, name, value=value, description=description)
