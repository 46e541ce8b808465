"""Templates: filled from settings, by replacement only."""

from __future__ import annotations

import pytest

from app.context.prompts import PromptTemplate
from app.settings import PromptSettings, Settings
from app.strategies.templates import templates_from_settings
from tests.conftest import SAMPLE_PASSAGES


def test_rag_template_asks_first_then_quotes_the_passages_in_rank_order() -> None:
    template = templates_from_settings(PromptSettings())["rag"]
    messages = template.render("What pressure?", SAMPLE_PASSAGES)

    assert [m.role for m in messages] == ["system", "user"]
    user = messages[1].content
    assert user.startswith("Question: What pressure?\n\nCatalog excerpt:\n")
    first, second = (passage.text for passage in SAMPLE_PASSAGES)
    assert f"{first}\n\n{second}" in user
    assert user.endswith("Answer the question from the excerpt:")


def test_a_passage_template_with_a_header_numbers_passages_with_product_and_section() -> None:
    prompts = PromptSettings(context_passage="[{index}] {title} ({section}):\n{text}")
    user = templates_from_settings(prompts)["rag"].render("What pressure?", SAMPLE_PASSAGES)[1]

    assert "[1] Kestrel KX-420 Hydraulic Press (Description):" in user.content
    assert "[2] Orion W-90 Welder (Configuration Manual):" in user.content
    assert user.content.index("[1]") < user.content.index("[2]")


def test_finetuned_template_has_no_context() -> None:
    templates = templates_from_settings(PromptSettings())
    assert not templates["finetuned"].uses_context
    assert templates["rag"].uses_context and templates["hybrid"].uses_context


def test_braces_in_templates_and_questions_are_kept_verbatim() -> None:
    template = PromptTemplate(system="", user='Reply as JSON {"a": 1}. {question}')
    (message,) = template.render("Is {context} expanded?")
    assert message.content == 'Reply as JSON {"a": 1}. Is {context} expanded?'


@pytest.mark.parametrize(
    "variable",
    ["FMT_PROMPTS__FINETUNED__USER", "FMT_PROMPTS__FINETUNED_USER"],  # the name before nesting
)
def test_templates_are_settings(monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    monkeypatch.setenv(variable, "Q: {question}")
    prompts = Settings(_env_file=None).prompts  # type: ignore[call-arg]

    template = templates_from_settings(prompts)["finetuned"]
    assert template.render("hi")[-1].content == "Q: hi"
    assert prompts.finetuned.system == PromptSettings().finetuned.system
