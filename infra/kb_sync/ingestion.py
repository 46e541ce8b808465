"""Start a Bedrock ingestion job and wait for it, with a deadline."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_bedrock_agent import AgentsforBedrockClient
    from mypy_boto3_bedrock_agent.type_defs import IngestionJobTypeDef

FINISHED = frozenset({"COMPLETE", "FAILED", "STOPPED"})
STATISTICS = {
    "numberOfDocumentsScanned": "scanned",
    "numberOfNewDocumentsIndexed": "new indexed",
    "numberOfModifiedDocumentsIndexed": "modified indexed",
    "numberOfDocumentsDeleted": "deleted",
    "numberOfDocumentsFailed": "failed",
}


class IngestionError(RuntimeError):
    """The ingestion job could not be started."""


@dataclass(frozen=True, slots=True)
class IngestionReport:
    job_id: str
    status: str
    elapsed_s: float
    statistics: dict[str, int] = field(default_factory=dict)
    failure_reasons: list[str] = field(default_factory=list)
    timed_out: bool = False

    @property
    def documents_failed(self) -> int:
        return self.statistics.get("numberOfDocumentsFailed", 0)

    @property
    def succeeded(self) -> bool:
        return self.status == "COMPLETE" and self.documents_failed == 0 and not self.timed_out

    def lines(self) -> list[str]:
        """What the command prints."""
        state = f"still {self.status} after the deadline" if self.timed_out else self.status
        counts = ", ".join(
            f"{label} {self.statistics.get(name, 0)}" for name, label in STATISTICS.items()
        )
        lines = [
            f"ingestion job {self.job_id}: {state} in {self.elapsed_s:.0f} s",
            f"documents: {counts}",
        ]
        lines += [f"failure: {reason}" for reason in self.failure_reasons]
        return lines


def _report(job: IngestionJobTypeDef, elapsed_s: float, timed_out: bool) -> IngestionReport:
    raw_statistics: Mapping[str, object] = job.get("statistics", {})
    statistics = {name: value for name, value in raw_statistics.items() if isinstance(value, int)}
    return IngestionReport(
        job_id=job["ingestionJobId"],
        status=job["status"],
        elapsed_s=elapsed_s,
        statistics=statistics,
        failure_reasons=list(job.get("failureReasons", [])),
        timed_out=timed_out,
    )


def start_ingestion(
    agent: AgentsforBedrockClient, knowledge_base_id: str, data_source_id: str
) -> IngestionJobTypeDef:
    """Start one job; a job already running for this data source is reported, not waited for."""
    try:
        response = agent.start_ingestion_job(
            knowledgeBaseId=knowledge_base_id,
            dataSourceId=data_source_id,
            clientToken=str(uuid.uuid4()),
            description="python -m infra.kb_sync",
        )
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        message = error.response.get("Error", {}).get("Message", str(error))
        if code == "ConflictException":
            raise IngestionError(
                f"an ingestion job is already running for data source {data_source_id}; "
                "run the command again when it has finished"
            ) from error
        raise IngestionError(f"StartIngestionJob failed ({code}): {message}") from error
    return response["ingestionJob"]


def wait_for_ingestion(
    agent: AgentsforBedrockClient,
    job: IngestionJobTypeDef,
    timeout_s: float,
    poll_interval_s: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> IngestionReport:
    """Poll GetIngestionJob until the job finishes or the deadline passes."""
    started = clock()
    deadline = started + timeout_s
    while job["status"] not in FINISHED:
        now = clock()
        if now >= deadline:
            return _report(job, now - started, timed_out=True)
        sleep(min(poll_interval_s, deadline - now))
        job = agent.get_ingestion_job(
            knowledgeBaseId=job["knowledgeBaseId"],
            dataSourceId=job["dataSourceId"],
            ingestionJobId=job["ingestionJobId"],
        )["ingestionJob"]
    return _report(job, clock() - started, timed_out=False)
