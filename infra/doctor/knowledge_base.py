"""The Knowledge Base the retriever reads: its status and its data sources' last ingestion."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from app.settings import Settings
from infra.doctor.aws import AwsClients, call_failed, problem
from infra.doctor.results import CheckResult, fail, ok, skip


def check_knowledge_base(settings: Settings, clients: AwsClients) -> list[CheckResult]:
    name = "knowledge base"
    if settings.retriever != "bedrock-kb":
        return [skip(name, f"retriever is {settings.retriever}")]
    kb_id = settings.bedrock.knowledge_base_id
    if not kb_id:
        fix = "set FMT_BEDROCK__KNOWLEDGE_BASE_ID to the KnowledgeBaseId output of the CDK stack"
        return [fail(name, "FMT_BEDROCK__KNOWLEDGE_BASE_ID is not set", fix)]
    region = clients.bedrock_region
    try:
        kb = clients.bedrock_agent.get_knowledge_base(knowledgeBaseId=kb_id)["knowledgeBase"]
    except (ClientError, BotoCoreError) as error:
        code, _ = problem(error)
        fix = (
            "set FMT_BEDROCK__KNOWLEDGE_BASE_ID to the KnowledgeBaseId output of the CDK stack "
            f"in {region} (or AWS_REGION to the stack's region)"
        )
        if code == "ResourceNotFoundException":
            return [fail(name, f"no Knowledge Base {kb_id} in {region}", fix)]
        return [call_failed(name, "bedrock:GetKnowledgeBase", error, fix)]
    status = kb.get("status")
    if status != "ACTIVE":
        reasons = "; ".join(kb.get("failureReasons", []))
        detail = f"{kb_id} ({kb.get('name')}) is {status}" + (f": {reasons}" if reasons else "")
        return [fail(name, detail, "wait for ACTIVE, or redeploy the CDK stack if FAILED")]
    return [ok(name, f"{kb_id} ({kb.get('name')}) ACTIVE"), *_check_ingestion(kb_id, clients)]


def _check_ingestion(kb_id: str, clients: AwsClients) -> list[CheckResult]:
    name = "knowledge base data"
    sync_fix = "sync the catalog: python -m infra.kb_sync"
    try:
        sources = clients.bedrock_agent.list_data_sources(knowledgeBaseId=kb_id)
    except (ClientError, BotoCoreError) as error:
        return [call_failed(name, "bedrock:ListDataSources", error, sync_fix)]
    summaries = sources.get("dataSourceSummaries", [])
    if not summaries:
        return [fail(name, f"{kb_id} has no data source", "deploy the CDK stack (cdk deploy)")]
    results = []
    for source in summaries:
        source_id = source["dataSourceId"]
        try:
            jobs = clients.bedrock_agent.list_ingestion_jobs(
                knowledgeBaseId=kb_id,
                dataSourceId=source_id,
                sortBy={"attribute": "STARTED_AT", "order": "DESCENDING"},
                maxResults=1,
            ).get("ingestionJobSummaries", [])
        except (ClientError, BotoCoreError) as error:
            results.append(call_failed(name, "bedrock:ListIngestionJobs", error, sync_fix))
            continue
        results.append(_ingestion_result(name, source_id, jobs, sync_fix))
    return results


def _ingestion_result(
    name: str, source_id: str, jobs: list[dict[str, Any]], sync_fix: str
) -> CheckResult:
    if not jobs:
        return fail(name, f"data source {source_id} was never ingested", sync_fix)
    last = jobs[0]
    stats = last.get("statistics", {})
    when = last.get("startedAt")
    detail = (
        f"data source {source_id}: last ingestion {last['status']} (started {when}, "
        f"{stats.get('numberOfNewDocumentsIndexed', 0)} new, "
        f"{stats.get('numberOfDocumentsFailed', 0)} failed)"
    )
    if last["status"] != "COMPLETE":
        return fail(name, detail, f"wait for it, or {sync_fix} and read its failure reasons")
    if stats.get("numberOfDocumentsFailed"):
        return fail(name, detail, f"fix the failed documents, then {sync_fix}")
    return ok(name, detail)
