"""Where a local answer must end: the chat template's turn markers and the prompts' own phrases.

llama.cpp stops at the model's end-of-turn token by itself. A small model sometimes goes on past
its answer into what it saw in the prompt ("...whichever comes first,\\n\\nAnswer the question from
the excerpt:"): those phrases, taken from the prompt settings so they follow any edit of them,
and the turn markers written out as text are stop strings too. A fine-tuned model, whose
targets were single catalog sentences, also stops at a blank line (`FMT_LOCAL__TUNED_STOPS`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from app.settings import PromptSettings, Settings

CHAT_MARKERS = ("<|im_start|>", "<|im_end|>", "<|endoftext|>")
"""ChatML's markers (SmolLM2's template), should the model write one as plain text."""
MIN_PHRASE_CHARS = 8
"""Shorter phrases ("Answer:") may open a good answer; they stop only on a line of their own."""

_PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


def template_phrases(prompts: PromptSettings) -> tuple[str, ...]:
    """The fixed lines of the user templates: "Question:", "Catalog excerpt:", ...; in order."""
    phrases: list[str] = []
    for group in prompts.groups().values():
        for piece in _PLACEHOLDER.split(group.user):
            for line in piece.splitlines():
                phrase = line.strip()
                if phrase and phrase not in phrases:
                    phrases.append(phrase)
    return tuple(phrases)


def stop_strings(prompts: PromptSettings, tuned_stops: Sequence[str] = ()) -> list[str]:
    """Stop strings for llama.cpp: the markers, each template phrase (short ones after a line
    break only), and for a fine-tuned model its own (`FMT_LOCAL__TUNED_STOPS`)."""
    stops = list(CHAT_MARKERS)
    for phrase in template_phrases(prompts):
        stops.append(phrase if len(phrase) >= MIN_PHRASE_CHARS else f"\n{phrase}")
    return [*stops, *(stop for stop in tuned_stops if stop not in stops)]


def generation_stops(settings: Settings, adapter: Path | None) -> list[str]:
    """The stop strings of a local model: with a fine-tuned `adapter`, its own stops too."""
    return stop_strings(settings.prompts, settings.local.tuned_stops if adapter else ())
