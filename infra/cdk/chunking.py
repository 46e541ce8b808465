"""The Bedrock data source's chunking configuration, from `FMT_INFRA_CHUNKING__*`."""

from __future__ import annotations

from aws_cdk import aws_bedrock as bedrock

from infra.cdk.settings import ChunkingSettings

DataSource = bedrock.CfnDataSource


def chunking_configuration(chunking: ChunkingSettings) -> DataSource.ChunkingConfigurationProperty:
    """The one configuration block Bedrock expects for the chosen strategy."""
    if chunking.strategy == "FIXED_SIZE":
        return DataSource.ChunkingConfigurationProperty(
            chunking_strategy="FIXED_SIZE",
            fixed_size_chunking_configuration=DataSource.FixedSizeChunkingConfigurationProperty(
                max_tokens=chunking.max_tokens, overlap_percentage=chunking.overlap_percentage
            ),
        )
    if chunking.strategy == "SEMANTIC":
        return DataSource.ChunkingConfigurationProperty(
            chunking_strategy="SEMANTIC",
            semantic_chunking_configuration=DataSource.SemanticChunkingConfigurationProperty(
                max_tokens=chunking.max_tokens,
                buffer_size=chunking.buffer_size,
                breakpoint_percentile_threshold=chunking.breakpoint_percentile_threshold,
            ),
        )
    if chunking.strategy == "HIERARCHICAL":
        level = DataSource.HierarchicalChunkingLevelConfigurationProperty
        return DataSource.ChunkingConfigurationProperty(
            chunking_strategy="HIERARCHICAL",
            hierarchical_chunking_configuration=DataSource.HierarchicalChunkingConfigurationProperty(
                level_configurations=[
                    level(max_tokens=chunking.parent_max_tokens),
                    level(max_tokens=chunking.child_max_tokens),
                ],
                overlap_tokens=chunking.overlap_tokens,
            ),
        )
    return DataSource.ChunkingConfigurationProperty(chunking_strategy="NONE")
