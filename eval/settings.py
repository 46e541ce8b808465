"""Settings of the evaluation runner: environment variables `FMT_EVAL_*`, nested with `__`."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# The service's strategies when it does not list its own (GET /openapi.json does).
DEFAULT_STRATEGIES: tuple[str, ...] = ("rag", "finetuned", "hybrid")


class HttpSettings(BaseModel):
    """How the service is called: parallelism, deadlines and retries."""

    concurrency: int = Field(8, ge=1, le=1024, description="Requests in flight at once.")
    timeout_s: float = Field(
        120.0, gt=0, description="Total deadline of one HTTP attempt, the whole reply read."
    )
    max_reply_bytes: int = Field(
        4 * 1024 * 1024, ge=1024, description="Largest reply read; a bigger one is a failure."
    )
    max_attempts: int = Field(4, ge=1, le=20, description="Attempts per sample, first included.")
    backoff_base_s: float = Field(0.5, ge=0, description="First retry delay; doubles each time.")
    backoff_max_s: float = Field(20.0, ge=0, description="Longest retry delay.")
    rate_limited_wait_s: float = Field(
        900.0, ge=0, description="How long one sample may wait out the service's 429s."
    )
    ready_timeout_s: float = Field(300.0, ge=0, description="How long to wait for GET /ready.")
    api_key: str | None = Field(None, description="Sent as `Authorization: Bearer` when set.")


class BertScoreSettings(BaseModel):
    """BERTScore backbone: `minilm` (bundled, offline), `roberta-large`, or a model folder."""

    model: str = "minilm"
    num_layers: int | None = Field(
        None, ge=1, description="Layer used; default 6 for MiniLM, bert-score's table otherwise."
    )
    batch_size: int = Field(16, ge=1)
    enabled: bool = True


class JudgeSettings(BaseModel):
    """The jury. Each entry is `bedrock`, `bedrock=MODEL_ID` or `openai=MODEL@BASE_URL`."""

    judges: list[str] = Field(default_factory=list)
    mode: Literal["pointwise", "pairwise"] = Field(
        "pointwise",
        description="`pointwise`: each answer scored on its own; `pairwise`: each pair of "
        "strategies' answers compared, in both orders, with the position bias reported.",
    )
    concurrency: int = Field(4, ge=1, le=256)
    timeout_s: float = Field(60.0, gt=0)
    max_tokens: int = Field(200, ge=16)
    region: str | None = Field(None, description="Bedrock region; default: the AWS profile's.")
    openai_api_key: str | None = Field(None, description="Bearer key for OpenAI-compatible judges.")
    openai_structured_output: Literal["off", "json_object", "json_schema"] = Field(
        "off",
        description="Constrain OpenAI-compatible judges to the verdict's JSON schema: "
        "`json_object` for llama.cpp's server, `json_schema` for OpenAI and vLLM.",
    )


class StatisticsSettings(BaseModel):
    resamples: int = Field(10_000, ge=100, description="Bootstrap and permutation resamples.")
    seed: int = 20240531
    confidence: float = Field(0.95, gt=0, lt=1)
    significance: float = Field(
        0.05, gt=0, lt=1, description="Largest (Holm-adjusted) p-value called a real difference."
    )
    min_judged: int = Field(
        10,
        ge=1,
        description="Judged answers a strategy needs before its judge score, interval and "
        "tests are shown.",
    )


class EvalSettings(BaseSettings):
    """Everything `python -m eval` reads; command-line flags override these."""

    model_config = SettingsConfigDict(
        env_prefix="FMT_EVAL_", env_nested_delimiter="__", extra="ignore"
    )

    url: str = "http://127.0.0.1:8000"
    testset: Path = PROJECT_ROOT / "data" / "test" / "test.json"
    out: Path = PROJECT_ROOT / "var" / "eval" / "latest"
    strategies: list[str] = Field(
        default_factory=list,
        description="Strategies to ask; empty: every one the service lists in /openapi.json.",
    )
    repeat: int = Field(1, ge=1, le=100, description="Times each question is asked per strategy.")
    labels: Path | None = Field(
        None, description="People's scores (question id, strategy, score) to check judges against."
    )
    prices: Path = PROJECT_ROOT / "data" / "prices.json"
    usage: Path = PROJECT_ROOT / "data" / "usage.json"
    http: HttpSettings = HttpSettings()
    bertscore: BertScoreSettings = BertScoreSettings()
    jury: JudgeSettings = JudgeSettings()
    statistics: StatisticsSettings = StatisticsSettings()
