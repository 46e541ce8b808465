"""What strategies report while they run, into the metrics and the request's access-log record."""

from __future__ import annotations

from collections.abc import Sequence

from app.core.observability import Metrics, current_record
from app.core.types import ChatMessage
from app.generators.base import Generation


class StrategyTelemetry:
    """Stage latencies and tokens per strategy; full prompts only when `log_prompts` is set."""

    def __init__(self, metrics: Metrics, log_prompts: bool) -> None:
        self.metrics = metrics
        self.log_prompts = log_prompts

    def stage(self, strategy: str, stage: str, seconds: float) -> None:
        self.metrics.observe_stage(strategy, stage, seconds)
        record = current_record.get()
        if record is not None:
            record.stages_ms[f"{strategy}.{stage}"] = round(seconds * 1000.0, 3)

    def prompt(self, strategy: str, messages: Sequence[ChatMessage]) -> None:
        record = current_record.get()
        if self.log_prompts and record is not None:
            record.prompts.extend(f"{message.role}: {message.content}" for message in messages)

    def generated(self, strategy: str, generation: Generation) -> None:
        usage = generation.usage
        self.metrics.count_tokens(strategy, usage.input_tokens, usage.output_tokens)
        record = current_record.get()
        if record is not None:
            record.tokens["input"] = record.tokens.get("input", 0) + usage.input_tokens
            record.tokens["output"] = record.tokens.get("output", 0) + usage.output_tokens
