"""The S3 bucket Bedrock ingests the catalog from: encrypted, private, TLS only."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_s3 as s3
from constructs import Construct


def create_catalog_bucket(scope: Construct, retain_data: bool) -> s3.Bucket:
    """A bucket no one outside the account can read, reachable only over TLS."""
    return s3.Bucket(
        scope,
        "CatalogBucket",
        encryption=s3.BucketEncryption.S3_MANAGED,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        # The catalog is rebuilt from the repository by `python -m infra.kb_sync`, so old
        # versions are not worth paying for, and an unversioned bucket empties in one command.
        versioned=False,
        removal_policy=RemovalPolicy.RETAIN if retain_data else RemovalPolicy.DESTROY,
    )
