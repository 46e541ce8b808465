"""Stop strings of the local generator: turn markers and the prompt settings' own phrases."""

from __future__ import annotations

from pathlib import Path

from app.generators.local_stops import (
    CHAT_MARKERS,
    generation_stops,
    stop_strings,
    template_phrases,
)
from app.settings import PromptSettings, Settings


def test_the_phrases_are_the_fixed_lines_of_the_user_templates() -> None:
    phrases = template_phrases(PromptSettings())

    assert "Question:" in phrases
    assert "Catalog excerpt:" in phrases
    assert "Answer the question from the excerpt:" in phrases
    assert "Answer:" in phrases
    assert not any("{" in phrase for phrase in phrases)


def test_an_edited_template_changes_the_stops() -> None:
    prompts = PromptSettings.model_validate(
        {"finetuned": {"user": "Customer asks: {question}\nYour reply:"}}
    )

    assert "Customer asks:" in stop_strings(prompts)


def test_short_phrases_stop_only_on_a_line_of_their_own() -> None:
    stops = stop_strings(PromptSettings())

    assert "\nAnswer:" in stops
    assert "Answer:" not in stops  # "Answer: 5 minutes" is a good answer
    assert set(CHAT_MARKERS) <= set(stops)


def test_a_tuned_model_also_stops_at_its_own_stops_once() -> None:
    base = stop_strings(PromptSettings())
    tuned = stop_strings(PromptSettings(), ["\n\n", "<|im_end|>"])

    assert tuned == [*base, "\n\n"]  # a blank line; the marker is there already
    assert "\n\n" not in base


def test_only_a_generator_with_an_adapter_stops_at_the_tuned_stops(tmp_path: Path) -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]

    assert "\n\n" not in generation_stops(settings, None)
    assert "\n\n" in generation_stops(settings, tmp_path / "adapter.gguf")
