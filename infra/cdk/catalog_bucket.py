"""The S3 bucket Bedrock ingests the catalog from: encrypted, private, TLS only."""

from __future__ import annotations

from aws_cdk import CustomResource, Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from constructs import Construct

# CloudFormation deletes only empty buckets, so a synced catalog would make `cdk destroy` fail.
# The CDK's own `auto_delete_objects` ships its handler as an asset, which this stack's
# bootstrapless template cannot carry; this handler is inline (CloudFormation's ZipFile, where
# `cfnresponse` is provided) and empties the bucket when the stack deletes it.
EMPTY_ON_DELETE = """import boto3
import cfnresponse


def handler(event, context):
    try:
        if event["RequestType"] == "Delete":
            bucket = boto3.resource("s3").Bucket(event["ResourceProperties"]["BucketName"])
            bucket.object_versions.delete()
        cfnresponse.send(event, context, cfnresponse.SUCCESS, {})
    except Exception as error:
        cfnresponse.send(event, context, cfnresponse.FAILED, {"Error": str(error)})
"""


def create_catalog_bucket(scope: Construct, retain_data: bool) -> s3.Bucket:
    """A bucket no one outside the account can read, reachable only over TLS."""
    bucket = s3.Bucket(
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
    if not retain_data:
        empty_on_delete(scope, bucket)
    return bucket


def empty_on_delete(scope: Construct, bucket: s3.Bucket) -> CustomResource:
    """A custom resource that empties `bucket` when the stack deletes it (it depends on the
    bucket, so CloudFormation deletes it, and runs the handler, first)."""
    handler = lambda_.Function(
        scope,
        "EmptyCatalogBucketOnDelete",
        runtime=lambda_.Runtime.PYTHON_3_12,
        handler="index.handler",
        code=lambda_.Code.from_inline(EMPTY_ON_DELETE),
        timeout=Duration.minutes(10),
        description="fm-tailor: empties the catalog bucket when the stack is deleted",
    )
    handler.add_to_role_policy(
        iam.PolicyStatement(
            actions=["s3:ListBucket", "s3:ListBucketVersions"], resources=[bucket.bucket_arn]
        )
    )
    handler.add_to_role_policy(
        iam.PolicyStatement(
            actions=["s3:DeleteObject", "s3:DeleteObjectVersion"],
            resources=[bucket.arn_for_objects("*")],
        )
    )
    return CustomResource(
        scope,
        "EmptyCatalogBucket",
        service_token=handler.function_arn,
        properties={"BucketName": bucket.bucket_name},
        resource_type="Custom::EmptyBucketOnDelete",
    )
