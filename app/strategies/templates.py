"""The prompt template of each strategy of the table, from the prompt settings."""

from __future__ import annotations

from collections.abc import Sequence

from app.context.prompts import PromptTemplate, template_for
from app.settings import PromptSettings
from app.strategies.table import STRATEGIES, StrategySpec


def templates_from_settings(
    prompts: PromptSettings, table: Sequence[StrategySpec] = STRATEGIES
) -> dict[str, PromptTemplate]:
    """The template of each strategy of the table, by strategy name."""
    return {spec.name: template_for(prompts, spec.prompt) for spec in table}
