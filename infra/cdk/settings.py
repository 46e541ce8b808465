"""Settings of the CDK app: environment variables `FMT_INFRA_*`, nested with `__`."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import AliasChoices, BaseModel, Field, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from infra.cdk.service_settings import ServiceSettings
from infra.settings import InfraBaseSettings

VectorStoreName = Literal["s3-vectors", "opensearch-serverless"]
ChunkingStrategy = Literal["FIXED_SIZE", "SEMANTIC", "HIERARCHICAL", "NONE"]

# OpenSearch Serverless collection and policy names: 3 to 32 lowercase letters, digits, hyphens.
_SERVERLESS_NAME = re.compile(r"^[a-z][a-z0-9-]{2,31}$")


class ChunkingSettings(BaseModel):
    """How Bedrock splits catalog documents into chunks at ingestion (`FMT_INFRA_CHUNKING__*`)."""

    strategy: ChunkingStrategy = "FIXED_SIZE"
    max_tokens: int = Field(
        200, ge=20, le=8192, description="FIXED_SIZE and SEMANTIC: tokens per chunk."
    )
    overlap_percentage: int = Field(
        20, ge=1, le=99, description="FIXED_SIZE: share of tokens neighbours have in common."
    )
    breakpoint_percentile_threshold: int = Field(
        95, ge=50, le=99, description="SEMANTIC: dissimilarity percentile that starts a new chunk."
    )
    buffer_size: int = Field(
        0, ge=0, le=1, description="SEMANTIC: sentences on each side compared with a sentence."
    )
    parent_max_tokens: int = Field(1500, ge=20, le=8192, description="HIERARCHICAL: parent chunk.")
    child_max_tokens: int = Field(300, ge=20, le=8192, description="HIERARCHICAL: child chunk.")
    overlap_tokens: int = Field(60, ge=1, description="HIERARCHICAL: tokens shared by neighbours.")

    @model_validator(mode="after")
    def _children_fit_in_parents(self) -> ChunkingSettings:
        if self.strategy == "HIERARCHICAL" and self.child_max_tokens >= self.parent_max_tokens:
            raise ValueError(
                "FMT_INFRA_CHUNKING__CHILD_MAX_TOKENS must be below "
                "FMT_INFRA_CHUNKING__PARENT_MAX_TOKENS"
            )
        return self


class S3VectorsSettings(BaseModel):
    """An S3 vector bucket and index: pay per use, no hourly floor (`FMT_INFRA_S3_VECTORS__*`)."""

    index_name: str = Field("fm-tailor-catalog", min_length=3, max_length=63)
    distance_metric: Literal["cosine", "euclidean"] = "cosine"


class OpenSearchSettings(BaseModel):
    """An OpenSearch Serverless vector collection: HYBRID search (`FMT_INFRA_OPENSEARCH__*`)."""

    collection_name: str = "fm-tailor-catalog"
    index_name: str = "fm-tailor-catalog"
    vector_field: str = "bedrock-knowledge-base-default-vector"
    text_field: str = "AMAZON_BEDROCK_TEXT_CHUNK"
    metadata_field: str = "AMAZON_BEDROCK_METADATA"
    standby_replicas: bool = Field(
        False, description="Replicas in a second zone: doubles the minimum OCU cost."
    )
    deployer_principal_arns: list[str] = Field(
        default_factory=list,
        description="IAM roles or users that deploy the stack: CloudFormation creates the vector "
        "index with their credentials, so the collection's data access policy must name them.",
    )
    public_endpoint: bool = Field(
        True,
        description="Whether the collection's API endpoint is reachable from outside AWS services. "
        "CloudFormation creates the vector index through that endpoint, so the first deployment "
        "needs it; every request must still be signed by a principal of the data access policy. "
        "Set false after the first deployment to leave the endpoint to Bedrock alone.",
    )

    @field_validator("collection_name", "index_name")
    @classmethod
    def _serverless_name(cls, value: str) -> str:
        if not _SERVERLESS_NAME.match(value):
            raise ValueError("must be 3 to 32 lowercase letters, digits or hyphens")
        return value


class InfraSettings(InfraBaseSettings):
    """Everything the CDK app reads when it synthesizes the stacks."""

    model_config = SettingsConfigDict(env_prefix="FMT_INFRA_", populate_by_name=True)

    region: str | None = Field(
        None,
        validation_alias=AliasChoices(
            "FMT_INFRA_REGION", "CDK_DEFAULT_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"
        ),
        description="Region of both stacks (FMT_INFRA_REGION; the CDK CLI sets "
        "CDK_DEFAULT_REGION from your profile). It picks the Bedrock model's cross-region "
        "inference profile and the regions the task role may invoke it in.",
    )
    stack_name: str = Field("FmTailorKnowledgeBase", pattern=r"^[A-Za-z][A-Za-z0-9-]{0,127}$")
    knowledge_base_name: str = Field("fm-tailor-catalog", pattern=r"^[0-9a-zA-Z_-]{1,100}$")
    vector_store: VectorStoreName = Field(
        "s3-vectors",
        description="s3-vectors: cheapest, semantic search only; opensearch-serverless: hybrid "
        "search, billed per OCU-hour even when idle.",
    )
    embedding_model_id: str = Field(
        "amazon.titan-embed-text-v2:0", description="A Bedrock foundation model that embeds text."
    )
    embedding_dimensions: int = Field(1024, ge=1, le=4096, description="Its vector length.")
    catalog_prefix: str = Field(
        "catalog/", description="Key prefix of the catalog objects in the bucket."
    )
    retain_data: bool = Field(
        False, description="Keep the catalog bucket and vector store when the stack is deleted."
    )
    chunking: ChunkingSettings = ChunkingSettings()
    s3_vectors: S3VectorsSettings = S3VectorsSettings()
    opensearch: OpenSearchSettings = OpenSearchSettings()
    service: ServiceSettings = ServiceSettings()

    @model_validator(mode="after")
    def _stack_names_cdk_accepts(self) -> InfraSettings:
        # CDK leaves a construct called "Default" out of its paths: a cross-stack reference to
        # it has no name to export under.
        names = (self.stack_name, self.service.stack_name)
        if "Default" in names or self.stack_name == self.service.stack_name:
            raise ValueError(
                "FMT_INFRA_STACK_NAME and FMT_INFRA_SERVICE__STACK_NAME must differ, "
                "and neither may be 'Default'"
            )
        return self

    @field_validator("catalog_prefix")
    @classmethod
    def _prefix_ends_with_slash(cls, value: str) -> str:
        if not value or value.startswith("/") or not value.endswith("/"):
            raise ValueError("must be a key prefix like 'catalog/'")
        return value

    @model_validator(mode="after")
    def _opensearch_needs_deployer(self) -> InfraSettings:
        if (
            self.vector_store == "opensearch-serverless"
            and not self.opensearch.deployer_principal_arns
        ):
            raise ValueError(
                "FMT_INFRA_OPENSEARCH__DEPLOYER_PRINCIPAL_ARNS must list the IAM role or user ARN "
                'that deploys the stack (JSON, e.g. ["arn:aws:iam::123456789012:role/Admin"]) '
                "when FMT_INFRA_VECTOR_STORE=opensearch-serverless"
            )
        return self
