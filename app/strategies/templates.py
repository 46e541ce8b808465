"""The prompt template of each strategy of the table, from the prompt settings."""

from __future__ import annotations

from collections.abc import Sequence

from app.context.prompts import PromptTemplate
from app.settings import PromptSettings
from app.strategies.table import STRATEGIES, StrategySpec


def templates_from_settings(
    prompts: PromptSettings, table: Sequence[StrategySpec] = STRATEGIES
) -> dict[str, PromptTemplate]:
    """The template of each strategy of the table, by strategy name."""
    groups = prompts.groups()
    templates = {}
    for spec in table:
        group = groups.get(spec.prompt)
        if group is None:
            variable = f"FMT_PROMPTS__{spec.prompt.upper()}"
            raise ValueError(
                f"no prompt group {spec.prompt!r} for strategy {spec.name!r}: PromptSettings "
                f"needs a field `{spec.prompt}: PromptGroup` ({variable}__SYSTEM and __USER)"
            )
        templates[spec.name] = PromptTemplate(group.system, group.user, prompts.context_passage)
    return templates
