"""Names of the stack's outputs, shared with the sync command (which must not import the CDK)."""

OUTPUT_KNOWLEDGE_BASE_ID = "KnowledgeBaseId"
OUTPUT_DATA_SOURCE_ID = "DataSourceId"
OUTPUT_CATALOG_BUCKET = "CatalogBucketName"
OUTPUT_CATALOG_PREFIX = "CatalogPrefix"
OUTPUT_VECTOR_STORE = "VectorStore"
