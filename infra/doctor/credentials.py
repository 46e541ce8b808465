"""The first check: whose credentials, in which region."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from infra.doctor.aws import AwsClients, Identity, problem
from infra.doctor.results import CheckResult, fail, ok


def check_credentials(clients: AwsClients) -> tuple[CheckResult, Identity | None]:
    name = "credentials"
    try:
        reply = clients.sts.get_caller_identity()
    except NoCredentialsError:
        fix = "sign in (aws sso login, or aws configure) or set AWS_PROFILE / AWS_ACCESS_KEY_ID"
        return fail(name, "no AWS credentials found", fix), None
    except (ClientError, BotoCoreError) as error:
        code, message = problem(error)
        fix = "refresh the credentials (aws sso login) or check AWS_PROFILE"
        return fail(name, f"sts:GetCallerIdentity failed: {code}: {message}", fix), None
    identity = Identity(str(reply["Account"]), str(reply["Arn"]))
    regions = sorted({clients.bedrock_region, clients.sagemaker_region})
    detail = f"{identity.arn} (account {identity.account}), region {', '.join(regions)}"
    return ok(name, detail), identity
