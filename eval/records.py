"""What the runner writes to disk, one JSON line each: answers, BERTScores and judgements."""

from __future__ import annotations

from pydantic import BaseModel, Field


class SourceRecord(BaseModel):
    id: str
    title: str
    location: str
    score: float
    text: str = ""


class SampleRecord(BaseModel):
    """One strategy's answer to one question (or the error that stopped it)."""

    key: str
    strategy: str
    question_id: str
    index: int
    repeat: int = Field(0, description="Which asking of the question (`run --repeat N`).")
    question: str
    ground_truth: str
    product_name: str = ""
    section: str = ""
    ok: bool
    error: str | None = None
    status_code: int | None = None
    answer: str = ""
    sources: list[SourceRecord] = Field(default_factory=list)
    model: str = ""
    input_tokens: int | None = None
    output_tokens: int | None = None
    tokens_estimated: bool = False
    finish_reason: str | None = Field(
        None,
        description="Why the answer ended: stop, length (it ran to max_tokens) or repetition "
        "(the service stopped a decode repeating itself); None when the service does not say.",
    )
    must_mention: list[list[str]] = Field(
        default_factory=list, description="Facts the answer must state, each with its phrasings."
    )
    latency_ms: float | None = Field(None, description="Client-side, the successful attempt.")
    elapsed_ms: float = Field(0.0, description="Client-side, all attempts and waits included.")
    throttle_wait_ms: float = Field(
        0.0, description="Part of `elapsed_ms` spent waiting out the service's 429s."
    )
    server_retrieve_ms: float | None = None
    server_generate_ms: float | None = None
    server_total_ms: float | None = None
    attempts: int = 1
    throttled: int = Field(0, description="Times the service said 429 and the runner waited.")
    request_id: str | None = None
    gold_product_retrieved: bool | None = None
    finished_at: str = ""

    @property
    def outcome_ms(self) -> float:
        """Time to the final outcome, answer or failure, as a user who retries would feel it:
        every attempt and backoff, but not the waits on the service's rate limit, which this
        runner's own concurrency causes."""
        return max(0.0, self.elapsed_ms - self.throttle_wait_ms)


class BertScoreRecord(BaseModel):
    key: str
    precision: float
    recall: float
    f1: float
    backbone: str


class JudgementRecord(BaseModel):
    """One judge's verdict on one answer; `score` is None when the reply could not be read."""

    key: str
    judge: str
    score: float | None
    reason: str = ""
    error: str | None = None
    raw_reply: str = ""
    attempts: int = 1


def sample_key(strategy: str, question_id: str, repeat: int = 0) -> str:
    """`rag/<question id>` for the first asking, `rag/<question id>#2` for the third."""
    return f"{strategy}/{question_id}" + (f"#{repeat}" if repeat else "")
