"""`python -m infra.doctor` (`make doctor`): one line per check, non-zero exit when one fails."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

from pydantic import BaseModel, ValidationError
from pydantic_settings import CliApp, SettingsConfigDict

from app.core.aws_clients import aws_session
from app.settings import Settings, get_settings
from infra.doctor.aws import AwsClients
from infra.doctor.checks import run_checks
from infra.doctor.results import CheckResult

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def aws_clients(settings: Settings) -> AwsClients:
    """Clients in the regions the service itself would use (settings, then AWS_REGION)."""
    bedrock = aws_session(settings.bedrock.region, "FMT_BEDROCK__REGION")
    sagemaker = aws_session(settings.sagemaker.region, "FMT_SAGEMAKER__REGION")
    return AwsClients(
        sts=bedrock.client("sts"),
        iam=bedrock.client("iam"),
        bedrock=bedrock.client("bedrock"),
        bedrock_agent=bedrock.client("bedrock-agent"),
        sagemaker=sagemaker.client("sagemaker"),
        bedrock_region=str(bedrock.region_name),
        sagemaker_region=str(sagemaker.region_name),
    )


def report(results: Sequence[CheckResult], out: TextIO) -> int:
    for result in results:
        print(result.line(), file=out)
    failed = sum(result.verdict == "fail" for result in results)
    passed = sum(result.verdict == "ok" for result in results)
    print(f"\n{passed} passed, {failed} failed, {len(results) - passed - failed} skipped", file=out)
    return EXIT_FAILED if failed else EXIT_OK


class DoctorCommand(BaseModel):
    """Read-only preflight of the AWS account the FMT_* settings point at: credentials, Bedrock
    models, Knowledge Base, SageMaker endpoint, IAM permissions."""

    model_config = SettingsConfigDict(cli_prog_name="python -m infra.doctor")


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    CliApp.run(DoctorCommand, cli_args=list(argv) if argv is not None else sys.argv[1:])
    try:
        settings = get_settings()
    except ValidationError as error:  # the message names each variable; no traceback
        print(f"[FAIL] settings: {error}\n       fix: correct the variables named above", file=out)
        return EXIT_FAILED
    try:
        clients = aws_clients(settings)
    except ValueError as error:  # no region
        print(f"[FAIL] region: {error}\n       fix: export AWS_REGION=us-east-1", file=out)
        return EXIT_FAILED
    return report(run_checks(settings, clients), out)


if __name__ == "__main__":
    sys.exit(main())
